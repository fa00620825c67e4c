"""Helpers of the export and INT8 tests: the test files, and a script that runs an export without this package."""
import os

# Loads an export as a deployment would: MXNet, NumPy and Pillow only, steps from
# preprocessing.json; prints which gluon_finetune modules got imported (must be none).
SYMBOL_SCRIPT = r'''
import glob, json, os, sys
import mxnet as mx
import numpy as np
from PIL import Image

folder, out, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(os.path.join(folder, "preprocessing.json")) as f:
    prep = json.load(f)
with open(os.path.join(folder, "labels.json")) as f:
    labels = json.load(f)
symbol = glob.glob(os.path.join(folder, "*-symbol.json"))[0]
net = mx.gluon.SymbolBlock.imports(symbol, [prep["input"]["name"]],
                                   symbol.replace("-symbol.json", "-0000.params"))
mean = np.array(prep["mean"], np.float32)
std = np.array(prep["std"], np.float32)


def prepare(path):
    img = mx.nd.array(np.asarray(Image.open(path).convert("RGB")), dtype="uint8")
    img = mx.image.resize_short(img, prep["resize_shorter"], interp=1)
    img = mx.image.center_crop(img, tuple(prep["center_crop"]), interp=1)[0]
    x = (img.asnumpy().astype(np.float32) * np.float32(prep["pixel_scale"]) - mean) / std
    return x.transpose(2, 0, 1)


logits = net(mx.nd.array(np.stack([prepare(p) for p in paths]))).asnumpy()
probs = np.exp(logits - logits.max(axis=1, keepdims=True))
probs /= probs.sum(axis=1, keepdims=True)
with open(out, "w") as f:
    json.dump({"labels": [labels[i] for i in probs.argmax(axis=1)], "probs": probs.tolist(),
               "imported": sorted(m for m in sys.modules if m.startswith("gluon_finetune"))}, f)
'''


def hotdog_test_files(tiny_hotdog):
    folder = os.path.join(tiny_hotdog, "test")
    return [os.path.join(folder, c, f) for c in sorted(os.listdir(folder))
            for f in sorted(os.listdir(os.path.join(folder, c)))]

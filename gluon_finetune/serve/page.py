"""The page of ``GET /``: drop or choose a photo, see the top classes with bars and the time.

One self-contained HTML document: its CSS and script are inline and it loads
nothing from anywhere else (no CDN, no font; an empty inline icon, or browsers
would ask for ``/favicon.ico``), so it works on a machine without
internet access, and it sends the photo only to the server that served it
(``POST /predict``, the endpoint ``curl`` uses). Class names are put in the
page with ``textContent``, never as HTML.
"""
import html

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} - gluon-finetune serve</title>
<link rel="icon" href="data:,">
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem;
         color: #222; }}
  h1 {{ font-size: 1.4rem; margin-bottom: .2rem; }}
  .sub {{ color: #666; margin-top: 0; }}
  #drop {{ border: 2px dashed #999; border-radius: .6rem; padding: 2rem; text-align: center;
           cursor: pointer; }}
  #drop.over {{ border-color: #2a7; background: #efe; }}
  #preview {{ max-width: 100%; max-height: 16rem; display: none; margin: 1rem auto; }}
  .row {{ display: flex; align-items: center; gap: .6rem; margin: .3rem 0; }}
  .name {{ width: 10rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }}
  .bar {{ flex: 1; background: #eee; border-radius: .3rem; height: 1.2rem; }}
  .fill {{ background: #2a7; height: 100%; border-radius: .3rem; }}
  .pct {{ width: 4.5rem; text-align: right; font-variant-numeric: tabular-nums; }}
  #error {{ color: #b00; }}
  #time {{ color: #666; }}
</style>
</head>
<body>
<h1>{name}</h1>
<p class="sub">gluon-finetune serve &middot; model version {version} &middot; {classes} classes</p>
<div id="drop">Drop a photo here, or click to choose one
  <input id="file" type="file" accept="image/*" hidden></div>
<img id="preview" alt="the photo sent">
<div id="result"></div>
<p id="time"></p>
<p id="error"></p>
<script>
"use strict";
const drop = document.getElementById("drop"), input = document.getElementById("file");
const result = document.getElementById("result"), timeLine = document.getElementById("time");
const errorLine = document.getElementById("error"), preview = document.getElementById("preview");
drop.addEventListener("click", () => input.click());
input.addEventListener("change", () => {{ if (input.files.length) send(input.files[0]); }});
drop.addEventListener("dragover", e => {{ e.preventDefault(); drop.classList.add("over"); }});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", e => {{
  e.preventDefault(); drop.classList.remove("over");
  if (e.dataTransfer.files.length) send(e.dataTransfer.files[0]);
}});
async function send(file) {{
  result.textContent = ""; errorLine.textContent = ""; timeLine.textContent = "classifying...";
  preview.src = URL.createObjectURL(file); preview.style.display = "block";
  const started = performance.now();
  try {{
    const reply = await fetch("predict?top_k=5", {{method: "POST", body: file,
      headers: {{"Content-Type": file.type || "application/octet-stream"}}}});
    const body = await reply.json();
    const took = performance.now() - started;
    if (!reply.ok) {{ timeLine.textContent = ""; errorLine.textContent = body.error || reply.statusText; return; }}
    for (const item of body.top_k) {{
      const row = document.createElement("div"); row.className = "row";
      const name = document.createElement("span"); name.className = "name"; name.textContent = item.label;
      const bar = document.createElement("div"); bar.className = "bar";
      const fill = document.createElement("div"); fill.className = "fill";
      fill.style.width = (100 * item.probability).toFixed(1) + "%"; bar.appendChild(fill);
      const pct = document.createElement("span"); pct.className = "pct";
      pct.textContent = (100 * item.probability).toFixed(1) + "%";
      row.append(name, bar, pct); result.appendChild(row);
    }}
    timeLine.textContent = "answered in " + took.toFixed(0) + " ms (server: "
      + body.timing_ms.total.toFixed(1) + " ms, of which the network "
      + body.timing_ms.inference.toFixed(1) + " ms in a batch of " + body.batch_size + ")";
  }} catch (err) {{ timeLine.textContent = ""; errorLine.textContent = String(err); }}
}}
</script>
</body>
</html>
"""


def render_page(name, version, classes):
    """The page's HTML for the model ``name``/``version`` and its ``classes``."""
    return _PAGE.format(name=html.escape(str(name)), version=html.escape(str(version)),
                        classes=len(classes))

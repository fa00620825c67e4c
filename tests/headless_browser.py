"""Load a page in Debian's headless Chromium and report what a person would see go wrong.

Talks to Chromium over its DevTools protocol on a pipe (``--remote-debugging-pipe``:
JSON messages separated by NUL bytes, commands on the child's fd 3, answers on its
fd 4), so no Python package and no network port is needed. Used by the report test and the
serve page's test (choosing a photo in a file input).
"""
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--hide-scrollbars", "--mute-audio"]

#: Where Debian's package puts the launcher, besides whatever PATH finds.
CANDIDATES = ("chromium", "/usr/bin/chromium", "chromium-browser")

IMAGES_JS = ("Array.from(document.images).map(i => ({src: i.getAttribute('src').slice(0, 48), "
             "complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}))")


def find_chromium():
    """Path of the chromium launcher, or None."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class PageLoad:
    """What :func:`load_page` saw: errors, images, requested URLs, the page title."""

    def __init__(self):
        self.errors = []      # console errors, uncaught exceptions, failed loads
        self.images = []      # one dict per <img>: src (start), complete, width, height
        self.requests = []    # every URL the page asked for
        self.title = None


@contextlib.contextmanager
def browser(user_data_dir, chromium=None, timeout=90):
    """A fresh headless Chromium profile; yields a :class:`_Session` on its DevTools pipe."""
    chromium = chromium or find_chromium()
    cmd_r, cmd_w = os.pipe()  # we write commands, Chromium reads them on its fd 3
    res_r, res_w = os.pipe()  # Chromium writes answers on its fd 4, we read them

    def child_fds():
        # Copies above 3 and 4 first, so that neither dup2 overwrites the other's source.
        high_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
        high_w = fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
        os.dup2(high_r, 3)
        os.dup2(high_w, 4)

    # close_fds=False: the fds 3 and 4 made in child_fds must survive; every other
    # descriptor of ours is close-on-exec anyway (Python's default).
    proc = subprocess.Popen(
        [chromium] + FLAGS + ["--user-data-dir=%s" % user_data_dir, "--remote-debugging-pipe",
                              "about:blank"],
        close_fds=False, preexec_fn=child_fds, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(cmd_r)
    os.close(res_w)
    session = _Session(cmd_w, res_r, time.time() + timeout)
    try:
        yield session
    finally:
        try:
            session.call("Browser.close")
        except Exception:  # already gone; the wait/kill below cleans up
            pass
        os.close(cmd_w)
        os.close(res_r)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load_page(url, user_data_dir, chromium=None, timeout=90):
    """Open ``url`` in a fresh headless Chromium profile; return a :class:`PageLoad`."""
    with browser(user_data_dir, chromium, timeout) as session:
        return _visit(session, url)


def upload_and_wait(url, selector, path, until_js, read_js, user_data_dir, headers=None,
                    timeout=90):
    """Open ``url``, choose the file ``path`` in the file input ``selector`` (as a person
    picking it would: the input's change event fires), wait until the JavaScript
    ``until_js`` is true, and return ``(PageLoad, value of read_js)``.

    ``headers``: sent with every request of the page (``Authorization``).
    """
    with browser(user_data_dir, timeout=timeout) as session:
        seen, sid = _open(session, url, headers)
        root = session.call("DOM.getDocument", session=sid)["root"]["nodeId"]
        node = session.call("DOM.querySelector", {"nodeId": root, "selector": selector},
                            session=sid)["nodeId"]
        if not node:
            raise AssertionError("the page has no %s" % selector)
        session.call("DOM.setFileInputFiles", {"files": [os.path.abspath(path)], "nodeId": node},
                     session=sid)
        while not _evaluate(session, sid, "Boolean(%s)" % until_js):
            if time.time() > session.deadline:
                raise TimeoutError("the page never showed %s" % until_js)
            time.sleep(0.1)
        value = _evaluate(session, sid, read_js)
        _collect(session, seen)
        return seen, value


def _evaluate(session, sid, expression):
    return session.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                        session=sid)["result"].get("value")


def _open(session, url, headers=None):
    """A new tab on ``url``, loaded; ``(PageLoad, session id)``."""
    target = session.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    sid = session.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Page", "Network", "DOM"):
        session.call(domain + ".enable", session=sid)
    if headers:
        session.call("Network.setExtraHTTPHeaders", {"headers": dict(headers)}, session=sid)
    session.events.clear()  # about:blank's own events
    session.call("Page.navigate", {"url": url}, session=sid)
    session.wait_for("Page.loadEventFired")
    return PageLoad(), sid


def _visit(session, url):
    seen, sid = _open(session, url)
    seen.images = _evaluate(session, sid, IMAGES_JS)
    seen.title = _evaluate(session, sid, "document.title")
    _collect(session, seen)
    return seen


def _collect(session, seen):
    """The errors and requested URLs among the events so far, into ``seen``."""
    for event in session.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            seen.errors.append("exception: %s" % params["exceptionDetails"].get("text"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            seen.errors.append("console.%s: %s" % (params["type"], params.get("args")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            seen.errors.append("%s: %s %s" % (entry.get("source"), entry.get("text"),
                                              entry.get("url", "")))
        elif method == "Network.requestWillBeSent":
            seen.requests.append(params["request"]["url"])


class _Session:
    """Blocking request/response over the DevTools pipe, keeping events on the side."""

    def __init__(self, write_fd, read_fd, deadline):
        self.write_fd, self.read_fd, self.deadline = write_fd, read_fd, deadline
        self.buffer = b""
        self.events = []
        self.next_id = 0

    def call(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode("utf-8") + b"\0"
        while data:
            data = data[os.write(self.write_fd, data):]
        while True:
            reply = self._receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s failed: %s" % (method, reply["error"]))
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method):
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._receive())

    def _receive(self):
        while b"\0" not in self.buffer:
            left = self.deadline - time.time()
            if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

#!/usr/bin/env python3
"""The run report in a real browser: Debian's headless Chromium loads
report.html, driven over the DevTools protocol (a small websocket client
below, no third-party module). The test fails on any console message of
level error or warning, uncaught exception, failed load, or request that
is not the file itself or a data: URL (the report must need no network);
it checks that every section and figure rendered with a size, then keeps
a full-page screenshot and the report in the build directory.

Usage: test_report_browser.py PROFILECTL ARTEFACT_DIR SANITIZE CROSS
Exit 77 (skipped) without chromium, in a sanitized build, or when cross.
"""
import base64
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

EXE, ART, SANITIZE, CROSS = sys.argv[1:5]
CHROMIUM = "/usr/bin/chromium"


def skip(why):
    print("SKIP:", why)
    sys.exit(77)


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


if CROSS == "true":
    skip("cross build: the browser runs on the build machine only")
if SANITIZE not in ("none", ""):
    skip(f"sanitized build (b_sanitize={SANITIZE}): the report is the same; "
         "chromium under the sanitizer runtime's environment is not")
if not os.access(CHROMIUM, os.X_OK):
    skip(f"{CHROMIUM} not found (Debian package 'chromium')")


class WebSocket:
    """Just enough RFC 6455 for the DevTools protocol: text frames, client
    masking, fragmented and long messages."""

    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise OSError("websocket handshake: connection closed")
            head += chunk
        head, _, self.buf = head.partition(b"\r\n\r\n")
        want = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        if b" 101 " not in head.split(b"\r\n")[0] or want.encode() not in head:
            raise OSError("websocket handshake refused: " + head.decode(errors="replace"))

    def send(self, text):
        data = text.encode()
        n = len(data)
        hdr = bytes([0x81])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise OSError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            mask = self._exact(4) if b1 & 0x80 else None
            payload = self._exact(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 0x9:  # ping
                continue
            if opcode == 0x8:
                raise OSError("websocket closed by the browser")
            message += payload
            if b0 & 0x80:
                return message.decode()


class DevTools:
    def __init__(self, ws):
        self.ws, self.next_id, self.events = ws, 0, []

    def call(self, method, **params):
        self.next_id += 1
        me = self.next_id
        self.ws.send(json.dumps({"id": me, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == me:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, method, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            for e in self.events:
                if e["method"] == method:
                    return e
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(method)


work = tempfile.mkdtemp(prefix="report_browser_")
g = subprocess.run([EXE, "demo", "--people", "2000", "--seed", "3", "--out-dir", work],
                   capture_output=True, text=True)
check(g.returncode == 0, "the demo writes the data and the report")
report = os.path.join(work, "report.html")
if not os.path.exists(report):  # a demo without the report: make it with run
    r = subprocess.run([EXE, "run", "--events", os.path.join(work, "events.csv"),
                        "--orders", os.path.join(work, "orders.csv"), "--as-of", "2024-12-31",
                        "--out-dir", work], capture_output=True, text=True)
    check(r.returncode == 0, "run writes the report")
os.makedirs(ART, exist_ok=True)
shutil.copy(report, os.path.join(ART, "report.html"))
url = "file://" + os.path.abspath(report)

profile = os.path.join(work, "chromium-profile")
browser = subprocess.Popen(
    [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
     "--disable-background-networking", "--disable-component-update", "--disable-sync",
     "--disable-extensions", "--user-data-dir=" + profile, "--remote-debugging-port=0",
     "--remote-allow-origins=*", "--window-size=1100,900", "about:blank"],
    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
try:
    port_file = os.path.join(profile, "DevToolsActivePort")
    end = time.time() + 60
    while not os.path.exists(port_file) and time.time() < end and browser.poll() is None:
        time.sleep(0.1)
    check(os.path.exists(port_file), "chromium started and opened its DevTools port")
    port = int(open(port_file).read().split()[0])
    pages = []
    while not pages and time.time() < end:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as f:
            pages = [p for p in json.load(f) if p.get("type") == "page"]
        time.sleep(0.1)
    check(pages, "a page target is open")
    dt = DevTools(WebSocket(pages[0]["webSocketDebuggerUrl"]))
    for domain in ("Page", "Runtime", "Log", "Network"):
        dt.call(domain + ".enable")
    dt.events.clear()
    dt.call("Page.navigate", url=url)
    dt.wait_for("Page.loadEventFired")
    time.sleep(0.5)
    state = json.loads(dt.call("Runtime.evaluate", returnByValue=True, expression="""
      JSON.stringify({
        title: document.title,
        sections: [...document.querySelectorAll('section')].map(s => s.id),
        svgs: [...document.querySelectorAll('svg')].map(s => {
          const r = s.getBoundingClientRect(); return [r.width, r.height]; }),
        whats: document.querySelectorAll('p.what').length,
        scripts: document.scripts.length,
        width: document.documentElement.scrollWidth,
        height: document.documentElement.scrollHeight,
        fonts: [...document.fonts].length
      })""")["result"]["value"])
    m = dt.call("Page.getLayoutMetrics")["cssContentSize"]
    shot = dt.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                   clip={"x": 0, "y": 0, "width": m["width"], "height": m["height"], "scale": 1})
    png = base64.b64decode(shot["data"])
    with open(os.path.join(ART, "report-screenshot.png"), "wb") as f:
        f.write(png)
    time.sleep(0.2)
    dt.call("Runtime.evaluate", expression="1")  # drain the events that came meanwhile
finally:
    browser.terminate()
    try:
        browser.wait(timeout=20)
    except subprocess.TimeoutExpired:
        browser.kill()

problems = []
for e in dt.events:
    p, meth = e.get("params", {}), e["method"]
    if meth == "Runtime.exceptionThrown":
        problems.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:300])
    elif meth == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
        problems.append("console." + p["type"] + ": " + json.dumps(p.get("args"))[:300])
    elif meth == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
        problems.append("log: " + p["entry"].get("text", "") + " " + p["entry"].get("url", ""))
    elif meth == "Network.loadingFailed":
        problems.append("load failed: " + json.dumps(p)[:300])
    elif meth == "Network.requestWillBeSent":
        u = p["request"]["url"]
        if u != url and not u.startswith("data:"):
            problems.append("request beyond the file: " + u)
for x in problems:
    print("  ", x)
check(not problems, "no console error or warning, no exception, no failed or outside request")
check(state["title"] != "", "the page has a title")
check(state["sections"] == ["identity", "rfm", "lifecycle", "clv", "clusters", "tags"],
      "every section is in the document, in order")
check(state["scripts"] == 0, "no script element")
check(len(state["svgs"]) >= 6 and all(w > 50 and h > 20 for w, h in state["svgs"]),
      f"{len(state['svgs'])} inline SVG figures rendered with a size")
check(state["whats"] >= 8, "a sentence for each figure")
check(state["width"] <= 1100, "nothing wider than the window (no horizontal scrolling)")
check(png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000,
      f"screenshot kept: {os.path.join(ART, 'report-screenshot.png')} ({len(png)} bytes, "
      f"page {m['width']}x{m['height']})")
shutil.rmtree(work, ignore_errors=True)
print("report renders cleanly in", subprocess.run([CHROMIUM, "--version"], capture_output=True,
                                                  text=True).stdout.strip())

"""tests/browser/cdp.py: headless Chromium (Debian's) driven over the DevTools
protocol with python3-websocket: no WebDriver, no downloaded browser.

Browser(...) starts chromium with its own profile folder and a debugging port
it picks itself (read back from DevToolsActivePort), attaches to its first
page and offers what a test of a page needs: navigate, evaluate, wait_for,
click (real mouse events at the element), type (focus + Input.insertText),
set_files (a file input, as a user's choice), screenshot. Uncaught page
exceptions and console errors (CSP violations among them) are collected in
.problems so a test can fail on them."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket


class CdpError(Exception):
    pass


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, binary, width=1280, height=860, log_path=None):
        self.profile = tempfile.mkdtemp(prefix="ff-chromium.")
        args = [binary, "--headless=new", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--password-store=basic", "--use-mock-keychain", "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses root otherwise; the page is ours, on loopback
        self.log = open(log_path or os.devnull, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.problems = []
        self._id = 0
        self._events = []
        try:
            self.ws = websocket.create_connection(self._page_ws_url(), timeout=60, suppress_origin=True)
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
        except Exception:
            self.close()
            raise

    def _page_ws_url(self):
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise CdpError(f"chromium exited with status {self.proc.returncode}")
            try:
                with open(port_file) as f:
                    port = int(f.readline())
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise CdpError("chromium did not open its DevTools port in 30 s")

    def close(self):
        if getattr(self, "ws", None):
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _note(self, msg):
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.problems.append("exception: " + d.get("exception", {}).get("description", d.get("text", "")))
        elif method == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.problems.append("console.error: " + " ".join(str(a.get("value", a.get("description", "")))
                                                               for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            e = p["entry"]
            if e.get("url", "").endswith("/favicon.ico"):
                return  # the browser's own guess, not the page's
            self.problems.append(f"log {e.get('source')}: {e.get('text')} {e.get('url', '')}".strip())

    def call(self, method, **params):
        self._id += 1
        want = self._id
        self.ws.send(json.dumps({"id": want, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == want:
                if "error" in msg:
                    raise CdpError(f"{method}: {msg['error'].get('message')}")
                return msg.get("result", {})
            self._note(msg)

    def evaluate(self, expr, by_value=True):
        r = self.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=by_value)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CdpError(f"evaluate({expr[:80]}): {d.get('exception', {}).get('description', d.get('text'))}")
        return r["result"].get("value") if by_value else r["result"]

    def wait_for(self, expr, timeout, what):
        """Polls the JS expression until it is truthy; returns its value or raises naming what."""
        deadline = time.time() + timeout
        while True:
            value = self.evaluate(expr)
            if value:
                return value
            if time.time() > deadline:
                raise CdpError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.1)

    def navigate(self, url):
        self.call("Page.navigate", url=url)

    def click(self, selector):
        """A real left click at the middle of the first element matching selector."""
        box = self.evaluate(f"""(() => {{ const el = document.querySelector({json.dumps(selector)});
            if (!el) return null; el.scrollIntoView({{block: 'center'}});
            const r = el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()""")
        if not box:
            raise CdpError(f"click: nothing matches {selector}")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def type(self, selector, text):
        if not self.evaluate(f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
                             f" if (!el) return false; el.focus(); el.select && el.select(); return true; }})()"):
            raise CdpError(f"type: nothing matches {selector}")
        self.call("Input.insertText", text=text)

    def set_files(self, selector, paths):
        obj = self.evaluate(f"document.querySelector({json.dumps(selector)})", by_value=False)
        if obj.get("subtype") != "node":
            raise CdpError(f"set_files: nothing matches {selector}")
        self.call("DOM.setFileInputFiles", files=[os.path.abspath(p) for p in paths], objectId=obj["objectId"])

    def screenshot(self, path):
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        with open(path, "wb") as f:
            f.write(data)
        return path

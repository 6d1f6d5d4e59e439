"""Shared helpers for scripts/abuse and scripts/soak: start a real `hearth serve` on a temporary model store,
talk plain HTTP/1.1 to it (http.client and raw sockets, stdlib only), and read its RSS and open file descriptors
from /proc (Linux's proc(5): /proc/PID/status VmRSS, /proc/PID/fd).

Every network call here has a timeout, so a hung server makes a scenario fail instead of the script hanging.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = "smollm2:135m"
MINILM = os.path.join(REPO, "models", "all-MiniLM-L6-v2")


def binary():
    """The hearth binary: HEARTH_BIN, else .build/release/hearth (exits with a hint when neither exists)."""
    path = os.environ.get("HEARTH_BIN") or os.path.join(REPO, ".build", "release", "hearth")
    if not os.access(path, os.X_OK):
        sys.exit(f"no hearth binary at {path}: build it with `swift build -c release --product hearth` "
                 "(or set HEARTH_BIN to one)")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_model(store, name=MODEL, modelfile=None):
    """`hearth create NAME -f examples/smollm2.Modelfile` into `store`, as a user makes it."""
    modelfile = modelfile or os.path.join(REPO, "examples", "smollm2.Modelfile")
    env = dict(os.environ, HEARTH_MODELS=store)
    r = subprocess.run([binary(), "create", name, "-f", modelfile], env=env, capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"hearth create {name} failed ({r.returncode}): {r.stderr.strip()}")


class Server:
    """One `hearth serve` on a free loopback port over `store` (made and filled with smollm2 when None)."""

    def __init__(self, env=None, store=None, nice=0):
        self.own_store = store is None
        if store is None:
            store = tempfile.mkdtemp(prefix="hearth-abuse-store-")
            create_model(store)
        self.store = store
        self.port = free_port()
        self.log_path = os.path.join(tempfile.gettempdir(), f"hearth-abuse-{self.port}.log")
        e = dict(os.environ, HEARTH_MODELS=store, HEARTH_HOST=f"127.0.0.1:{self.port}")
        e.update(env or {})
        self.env = e
        self.log = open(self.log_path, "w")
        pre = ["nice", "-n", str(nice)] if nice else []
        self.proc = subprocess.Popen(pre + [binary(), "serve"], env=e, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hearth serve exited with {self.proc.returncode}: {self.log_text()[-2000:]}")
            try:
                if request(self.port, "GET", "/health", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"hearth serve did not answer on port {self.port} within 60 s")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, timeout=30, keep_store=False):
        """SIGTERM, then wait; returns the exit status (None if it had to be killed)."""
        status = self.proc.poll()
        if status is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                status = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                status = None
        self.log.close()
        if self.own_store and not keep_store:
            shutil.rmtree(self.store, ignore_errors=True)
        return status

    def rss_mib(self):
        return rss_mib(self.pid)

    def fds(self):
        return fd_count(self.pid)


def rss_mib(pid):
    """VmRSS of `pid` in MiB (proc(5))."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def request(port, method, path, body=None, timeout=120, headers=None):
    """One request on a fresh connection: (status, headers dict (lower-case names), body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def post_json(port, path, body, timeout=120):
    """POST a JSON body; (status, parsed JSON or the raw text)."""
    status, _, data = request(port, "POST", path, body, timeout=timeout)
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data.decode(errors="replace")


def stream_lines(port, path, body, timeout=120, stop_after=None):
    """POST a streaming request and read it to the end (or close after `stop_after` lines): (status, lines).
    NDJSON lines and SSE `data:` lines are returned as text without the newline; empty lines are skipped."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    lines = []
    try:
        conn.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        while True:
            line = r.readline()
            if not line:
                break
            line = line.decode(errors="replace").strip()
            if line:
                lines.append(line)
            if stop_after is not None and len(lines) >= stop_after:
                break
        return r.status, lines
    finally:
        conn.close()


def ndjson_text(lines, field="response"):
    """The text of an NDJSON stream (generate: `response`; chat: message.content) and its last object."""
    text, last = "", None
    for line in lines:
        o = json.loads(line)
        last = o
        if field == "message":
            text += (o.get("message") or {}).get("content", "")
        else:
            text += o.get(field, "")
    return text, last


def sse_text(lines, chat=True):
    """The text of an OpenAI SSE stream and whether it ended with [DONE]."""
    text, done = "", False
    for line in lines:
        if not line.startswith("data: "):
            continue
        payload = line[6:]
        if payload == "[DONE]":
            done = True
            continue
        o = json.loads(payload)
        for c in o.get("choices", []):
            text += ((c.get("delta") or {}).get("content") or "") if chat else (c.get("text") or "")
    return text, done


def ps(port):
    """GET /api/ps's `models` list."""
    status, _, data = request(port, "GET", "/api/ps", timeout=10)
    if status != 200:
        raise RuntimeError(f"/api/ps answered {status}")
    return json.loads(data).get("models", [])


def active_sequences(port):
    """Sum of active sequences + queued requests + held requests over loaded models (/api/ps's Hearth fields)."""
    return sum(m.get("active_sequences", 0) + m.get("queued_requests", 0) + m.get("requests", 0) for m in ps(port))

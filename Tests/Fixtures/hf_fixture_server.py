#!/usr/bin/env python3
"""A loopback stand-in for the Hugging Face Hub, for `hearth pull` tests.

Serves the files under --root as repositories ROOT/OWNER/REPO/FILE, the way the Hub does:
  GET /api/models/OWNER/REPO/tree/main   -> JSON list [{type, path, size, oid, lfs: {oid (sha256), size}}]
  GET /OWNER/REPO/resolve/main/FILE      -> 302 to /cdn/OWNER/REPO/FILE, with X-Linked-Etag "<sha256>" and
                                            X-Linked-Size (as the Hub's LFS redirects)
  GET /cdn/OWNER/REPO/FILE               -> the bytes; honours `Range: bytes=N-` / `bytes=N-M` with 206 and
                                            Content-Range (RFC 9110 §14), 416 past the end
Behaviour is read from the --control JSON file on every request, so a test switches modes without restarting
(the URL, and so the resume key, stays the same):
  {"interrupt_after": N}  a file response sends its full headers, then only N body bytes, then drops the connection
  {"wrong_digest": true}  the tree listing and X-Linked-Etag state a sha256 that is not the file's
Every request is appended to --log as one JSON line {method, path, range}. The chosen port is printed on stdout.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

ARGS = None
DIGESTS = {}


def sha256_of(path):
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime)
    if key not in DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        DIGESTS[key] = h.hexdigest()
    return DIGESTS[key]


def control():
    try:
        with open(ARGS.control) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def stated_digest(path):
    d = sha256_of(path)
    if control().get("wrong_digest"):
        return hashlib.sha256(d.encode()).hexdigest()
    return d


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self):
        with open(ARGS.log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "range": self.headers.get("Range")}) + "\n")

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def repo_file(self, parts):
        # abspath, not realpath: the fixture files may be symlinks to the real models.
        path = os.path.abspath(os.path.join(ARGS.root, *parts))
        root = os.path.abspath(ARGS.root)
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            return None
        return path

    def do_GET(self):
        self.record()
        parts = [unquote(p) for p in urlparse(self.path).path.split("/") if p]
        if len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4:] == ["tree", "main"]:
            repo = os.path.join(ARGS.root, parts[2], parts[3])
            if not os.path.isdir(repo):
                return self.send_json(404, {"error": "Repository not found"})
            entries = []
            for dirpath, _, files in os.walk(repo):
                for name in sorted(files):
                    full = os.path.join(dirpath, name)
                    rel = os.path.relpath(full, repo)
                    size = os.path.getsize(full)
                    entry = {"type": "file", "oid": hashlib.sha1(rel.encode()).hexdigest(), "size": size, "path": rel}
                    if name.endswith(".gguf"):
                        entry["lfs"] = {"oid": stated_digest(full), "size": size, "pointerSize": 134}
                    entries.append(entry)
            return self.send_json(200, entries)
        if len(parts) >= 5 and parts[2:4] == ["resolve", "main"]:
            path = self.repo_file([parts[0], parts[1]] + parts[4:])
            if path is None:
                return self.send_json(404, {"error": "Entry not found"})
            self.send_response(302)
            self.send_header("Location", "/cdn/" + "/".join(self.path.split("/")[1:3] + self.path.split("/")[5:]))
            self.send_header("X-Linked-Etag", '"%s"' % stated_digest(path))
            self.send_header("X-Linked-Size", str(os.path.getsize(path)))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if len(parts) >= 4 and parts[0] == "cdn":
            path = self.repo_file(parts[1:])
            if path is None:
                return self.send_json(404, {"error": "not found"})
            return self.send_file(path)
        self.send_json(404, {"error": "no route"})

    def send_file(self, path):
        size = os.path.getsize(path)
        start, end = 0, size - 1
        rng = self.headers.get("Range")
        status = 200
        if rng:
            spec = rng.strip()
            if not spec.startswith("bytes=") or "," in spec:
                return self.send_json(400, {"error": "bad range"})
            first, _, last = spec[6:].partition("-")
            start = int(first)
            end = int(last) if last else size - 1
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            end = min(end, size - 1)
            status = 206
        length = end - start + 1
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"fixture-%d"' % size)
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        limit = control().get("interrupt_after")
        sent = 0
        with open(path, "rb") as f:
            f.seek(start)
            while sent < length:
                want = min(1 << 20, length - sent)
                if limit is not None:
                    want = min(want, limit - sent)
                    if want <= 0:
                        break
                chunk = f.read(want)
                if not chunk:
                    break
                self.wfile.write(chunk)
                sent += len(chunk)
        if sent < length:
            # Drop the connection mid-body, as a network failure would.
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--control", required=True)
    p.add_argument("--log", required=True)
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    # Let go of stdout (fd 1 itself; sys.stdout.close() would leave it open) so a reader sees end-of-file.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    server.serve_forever()


if __name__ == "__main__":
    main()

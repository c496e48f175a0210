#!/usr/bin/env python3
"""A registry with faults, for what the real registry never does: wrong bytes, dropped blobs, redirects.

Usage:
  registry-faults.py --layout DIR --cert CRT --key KEY --port-file FILE [--host IP] [--log FILE]
                     [--corrupt DIGEST]... [--drop DIGEST:N]... [--redirect BASE]
                     [--bearer] [--blobs-only]

Serves the OCI image layout DIR (tests/fakes/registry-images.py) over TLS as
a read-only registry: repository NAME is the layout's ref name NAME, any tag
resolves to it, and /v2/NAME/manifests/DIGEST and /v2/NAME/blobs/DIGEST
serve the layout's blobs (Range "bytes=N-" honoured, 416 past the end;
Content-Type the descriptor's media type, Docker-Content-Digest set).

  --corrupt DIGEST  serve that blob or manifest with its first byte changed (same length)
  --drop DIGEST:N   the first request for that blob gets the headers and N bytes, then the connection closes
  --redirect BASE   blob requests answer 307 to BASE/blobs/DIGEST (another host: storage)
  --blobs-only      serve only GET /blobs/DIGEST (the storage host a redirect leads to)
  --bearer          require "Authorization: Bearer <token>" on /v2/, with a challenge
                    whose realm is this server's own /token (which hands the token out)

Each request is logged to --log as a JSON line: host, method, path, range,
authorization (the header or null), status. Python standard library only.
"""

import argparse
import json
import os
import re
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "faults-token-1"


class State:
    pass


def load_layout(root):
    with open(os.path.join(root, "index.json")) as f:
        index = json.load(f)
    refs = {}
    types = {}
    for d in index["manifests"]:
        refs[d["annotations"]["org.opencontainers.image.ref.name"]] = d
    # Media types of every manifest and blob reachable from the refs.
    todo = list(index["manifests"])
    while todo:
        d = todo.pop()
        types[d["digest"]] = d.get("mediaType", "application/octet-stream")
        if d.get("mediaType", "").endswith(("manifest.v1+json", "index.v1+json")):
            with open(blob_path(root, d["digest"])) as f:
                doc = json.load(f)
            todo.extend(doc.get("manifests", []) + doc.get("layers", []) + ([doc["config"]] if "config" in doc else []))
    return refs, types


def blob_path(root, digest):
    return os.path.join(root, "blobs", "sha256", digest.split(":", 1)[1])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log_json(self, status):
        st = self.server.state
        if not st.log:
            return
        line = json.dumps({"host": st.host, "method": self.command, "path": self.path,
                           "range": self.headers.get("Range"), "authorization": self.headers.get("Authorization"),
                           "status": status})
        with st.lock, open(st.log, "a") as f:
            f.write(line + "\n")

    def simple(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log_json(status)

    def serve_blob(self, digest, media_type):
        st = self.server.state
        path = blob_path(st.root, digest)
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest) or not os.path.exists(path):
            self.simple(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}', {"Content-Type": "application/json"})
            return
        with open(path, "rb") as f:
            data = f.read()
        if digest in st.corrupt and data:
            data = bytes([data[0] ^ 0x20]) + data[1:]
        start = 0
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        status = 200
        if m and int(m.group(1)) >= len(data):
            # What real servers answer to a Range past the end.
            self.simple(416, b"", {"Content-Range": "bytes */%d" % len(data)})
            return
        if m:
            start = int(m.group(1))
            status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Docker-Content-Digest", digest)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.end_headers()
        with st.lock:
            drop = st.drop.pop(digest, None)
        if drop is not None:
            self.wfile.write(body[:drop])
            self.wfile.flush()
            self.log_json("dropped")
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)
        self.log_json(status)

    def do_GET(self):
        st = self.server.state
        path = self.path.split("?", 1)[0]
        if st.blobs_only:
            m = re.fullmatch(r"/blobs/(sha256:[0-9a-f]{64})", path)
            if m:
                self.serve_blob(m.group(1), "application/octet-stream")
            else:
                self.simple(404)
            return
        if path == "/token":
            body = json.dumps({"token": TOKEN}).encode()
            self.simple(200, body, {"Content-Type": "application/json"})
            return
        if st.bearer and self.headers.get("Authorization") != "Bearer " + TOKEN:
            realm = "https://%s:%d/token" % (st.host, self.server.server_address[1])
            self.simple(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                        {"Content-Type": "application/json",
                         "WWW-Authenticate": 'Bearer realm="%s",service="faults"' % realm})
            return
        if path == "/v2/":
            self.simple(200, b"{}", {"Content-Type": "application/json"})
            return
        m = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", path)
        if not m:
            self.simple(404)
            return
        name, kind, ref = m.groups()
        if name not in st.refs:
            self.simple(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}', {"Content-Type": "application/json"})
            return
        if kind == "manifests":
            desc = st.refs[name] if not ref.startswith("sha256:") else {"digest": ref}
            self.serve_blob(desc["digest"], st.types.get(desc["digest"], "application/octet-stream"))
            return
        if st.redirect:
            self.simple(307, b"", {"Location": "%s/blobs/%s" % (st.redirect, ref)})
            return
        self.serve_blob(ref, st.types.get(ref, "application/octet-stream"))

    do_HEAD = do_GET


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layout", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--log")
    ap.add_argument("--corrupt", action="append", default=[])
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--redirect")
    ap.add_argument("--blobs-only", action="store_true")
    ap.add_argument("--bearer", action="store_true")
    a = ap.parse_args()
    st = State()
    st.root = a.layout
    st.refs, st.types = load_layout(a.layout)
    st.corrupt = set(a.corrupt)
    st.drop = {d.rsplit(":", 1)[0]: int(d.rsplit(":", 1)[1]) for d in a.drop}
    st.redirect = a.redirect
    st.blobs_only = a.blobs_only
    st.bearer = a.bearer
    st.host = a.host
    st.log = a.log
    st.lock = threading.Lock()
    srv = ThreadingHTTPServer((a.host, 0), Handler)
    srv.state = st
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A token service for the distribution registry's bearer flow (the registry's `auth: token:` config).

Usage:
  registry-token.py --cert CRT --key KEY --sign-cert CRT --sign-key KEY --issuer ISS
                    --port-file FILE [--user USER:PASSWORD]... [--anonymous] [--log FILE]

Listens with TLS on 127.0.0.1 (a free port, written to --port-file) and
answers GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...] with
{"token": JWT, "access_token": JWT, "expires_in": 300}. The JWT is RS256,
signed by --sign-key, with the --sign-cert chain in its x5c header, which is
how the registry checks it against its rootcertbundle. A request with valid
basic credentials gets pull and push on what it asked for; with --anonymous a
request without credentials gets pull only; otherwise 401. Each request is
logged as a JSON line: path, whether credentials came, the user, the status.
"""

import argparse
import base64
import json
import os
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    def __init__(self, cert_path, key_path):
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(key_path, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), password=None)
        self.x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]

    def token(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log_request_json(self, status, user):
        cfg = self.server.cfg
        if not cfg.log:
            return
        line = json.dumps({"path": self.path, "credentials": "Authorization" in self.headers,
                           "user": user, "status": status})
        with cfg.lock, open(cfg.log, "a") as f:
            f.write(line + "\n")

    def reply(self, status, body, user):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.log_request_json(status, user)

    def do_GET(self):
        cfg = self.server.cfg
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self.reply(404, {"error": "not found"}, None)
            return
        q = urllib.parse.parse_qs(url.query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                given = base64.b64decode(auth[6:]).decode()
            except ValueError:
                given = ""
            if given not in cfg.users:
                self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]}, None)
                return
            user = given.split(":", 1)[0]
        elif auth:
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "basic credentials only"}]}, None)
            return
        elif not cfg.anonymous:
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "credentials required"}]}, None)
            return
        access = []
        for scope in q.get("scope", []):
            parts = scope.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            wanted = parts[-1].split(",")
            allowed = ["pull", "push"] if user else ["pull"]
            access.append({"type": "repository", "name": ":".join(parts[1:-1]),
                           "actions": [a for a in wanted if a in allowed]})
        now = int(time.time())
        claims = {"iss": cfg.issuer, "sub": user or "", "aud": q.get("service", [""])[0], "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": b64url(os.urandom(12)), "access": access}
        tok = cfg.signer.token(claims)
        self.reply(200, {"token": tok, "access_token": tok, "expires_in": 300}, user)


class Config:
    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--sign-cert", required=True)
    ap.add_argument("--sign-key", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--user", action="append", default=[])
    ap.add_argument("--anonymous", action="store_true")
    ap.add_argument("--log")
    a = ap.parse_args()
    cfg = Config()
    cfg.users = set(a.user)
    cfg.anonymous = a.anonymous
    cfg.issuer = a.issuer
    cfg.signer = Signer(a.sign_cert, a.sign_key)
    cfg.log = a.log
    cfg.lock = threading.Lock()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.cfg = cfg
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

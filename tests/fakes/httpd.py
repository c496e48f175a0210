#!/usr/bin/env python3
"""Test HTTP server for the download tests: serves a directory on 127.0.0.1 with fault switches.

Usage:
  httpd.py --root DIR --port-file FILE [--log FILE] [--port N] [--rule RULE]...

RULE is PATTERN:ACTION[:ARG[:COUNT]]; PATTERN is an fnmatch glob on the request
path, COUNT (default: every request) is how many matching requests the rule
applies to, after which it is spent. The first live rule that matches wins.
  drop:N          send the headers and N body bytes, then close the connection
  stall:N         send N body bytes, then send nothing until the client leaves
  corrupt:OFF     flip the byte at offset OFF of the file in what is sent
  404             answer 404 Not Found
  500             answer 500 Internal Server Error
  ignore-range    answer 200 with the whole file even when a Range was asked
  redirect:PATH   answer 302 with Location: PATH
  trickle:BPS     send at most BPS bytes per second

Every request is logged to --log as one JSON object per line:
{"method": ..., "path": ..., "range": ... or null, "status": ..., "rule": ... or null,
 "in_flight": requests being served when this one began, itself included}.
Bodies without a rule go out with sendfile, so the server is fast enough for
throughput measurements. Python standard library only.
"""

import argparse
import fnmatch
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Rule:
    def __init__(self, text):
        parts = text.split(":")
        if len(parts) < 2:
            raise ValueError("rule %r: expected PATTERN:ACTION[:ARG[:COUNT]]" % text)
        self.text = text
        self.pattern = parts[0]
        self.action = parts[1]
        self.arg = parts[2] if len(parts) > 2 and parts[2] != "" else None
        self.count = int(parts[3]) if len(parts) > 3 else None
        known = {"drop", "stall", "corrupt", "404", "500", "ignore-range", "redirect", "trickle"}
        if self.action not in known:
            raise ValueError("rule %r: unknown action %r" % (text, self.action))
        if self.action in {"drop", "stall", "corrupt", "redirect", "trickle"} and self.arg is None:
            raise ValueError("rule %r: action %r needs an argument" % (text, self.action))


class State:
    def __init__(self, root, rules, log_path):
        self.root = os.path.realpath(root)
        self.rules = rules
        self.log_path = log_path
        self.lock = threading.Lock()
        self.active = 0  # requests being served right now

    def take_rule(self, path):
        with self.lock:
            for rule in self.rules:
                if rule.count is not None and rule.count <= 0:
                    continue
                if fnmatch.fnmatchcase(path, rule.pattern):
                    if rule.count is not None:
                        rule.count -= 1
                    return rule
        return None

    def log(self, entry):
        if not self.log_path:
            return
        with self.lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def parse_range(header, size):
    """Returns (start, end_inclusive) for a single 'bytes=' range, or None if unusable."""
    if not header or not header.startswith("bytes="):
        return None
    spec = header[len("bytes="):].split(",")[0].strip()
    first, _, last = spec.partition("-")
    try:
        if first == "":
            n = int(last)
            return (max(size - n, 0), size - 1)
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    return (start, min(end, size - 1))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "virtkube-test-httpd/1"

    def log_message(self, fmt, *args):  # keep stderr quiet; the JSON log is the record
        pass

    def _record(self, status, rule):
        self.server.state.log({
            "method": self.command,
            "path": self.path,
            "range": self.headers.get("Range"),
            "user_agent": self.headers.get("User-Agent"),
            "status": status,
            "rule": rule.text if rule else None,
            "in_flight": getattr(self, "in_flight_at_start", None),
        })

    def _simple(self, status, text, rule, extra=None):
        body = (text + "\n").encode()
        self.send_response(status)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._record(status, rule)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        # Counts concurrent requests so tests can check parallelism without timing.
        state = self.server.state
        with state.lock:
            state.active += 1
            self.in_flight_at_start = state.active
        try:
            self._get()
        finally:
            with state.lock:
                state.active -= 1

    def _get(self):
        state = self.server.state
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        rule = state.take_rule(path)
        action = rule.action if rule else None

        if action == "404":
            return self._simple(404, "not found (rule)", rule)
        if action == "500":
            return self._simple(500, "internal error (rule)", rule)
        if action == "redirect":
            return self._simple(302, "moved", rule, {"Location": rule.arg})

        full = os.path.realpath(os.path.join(state.root, path.lstrip("/")))
        if not (full == state.root or full.startswith(state.root + os.sep)) or not os.path.isfile(full):
            return self._simple(404, "not found", rule)
        size = os.path.getsize(full)

        start, end, status = 0, size - 1, 200
        rng = None if action == "ignore-range" else parse_range(self.headers.get("Range"), size)
        if rng is not None:
            if rng[0] >= size:
                return self._simple(416, "range not satisfiable", rule, {"Content-Range": "bytes */%d" % size})
            start, end, status = rng[0], rng[1], 206

        length = end - start + 1 if size > 0 else 0
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        self._record(status, rule)
        if self.command == "HEAD":
            return

        with open(full, "rb") as f:
            if action is None or action == "ignore-range":
                self.wfile.flush()
                try:
                    self.connection.sendfile(f, offset=start, count=length)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                return
            self._send_with_rule(f, start, length, rule)

    def _send_with_rule(self, f, start, length, rule):
        f.seek(start)
        limit = length
        if rule.action in ("drop", "stall"):
            limit = min(length, int(rule.arg))
        bps = int(rule.arg) if rule.action == "trickle" else None
        pos, sent = start, 0
        chunk = 65536 if bps is None else max(1, bps // 10)
        while sent < limit:
            data = f.read(min(chunk, limit - sent))
            if not data:
                break
            if rule.action == "corrupt":
                off = int(rule.arg)
                if pos <= off < pos + len(data):
                    b = bytearray(data)
                    b[off - pos] ^= 0xFF
                    data = bytes(b)
            try:
                self.wfile.write(data)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return
            pos += len(data)
            sent += len(data)
            if bps is not None:
                time.sleep(len(data) / bps)
        if rule.action == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif rule.action == "stall":
            # Send nothing more; wait until the client gives up (or 120 s pass).
            self.connection.settimeout(1.0)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if self.connection.recv(1) == b"":
                        break
                except socket.timeout:
                    continue
                except OSError:
                    break
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients that hang up mid-transfer are what the fault tests are about.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="virtkube test HTTP server (127.0.0.1 only)")
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True, help="written with the bound port once listening")
    ap.add_argument("--log", default=None)
    ap.add_argument("--rule", action="append", default=[])
    args = ap.parse_args()
    try:
        rules = [Rule(r) for r in args.rule]
    except ValueError as e:
        print("httpd.py: %s" % e, file=sys.stderr)
        return 2
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = State(args.root, rules, args.log)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

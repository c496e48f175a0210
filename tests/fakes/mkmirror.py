#!/usr/bin/env python3
"""A local artifact mirror for tests: the files of one Kubernetes release from
vm-images/kubernetes/releases.json, laid out like the upstream hosts (paths
kept), each with its published checksum file, so `virtkube start --mirror DIR`
downloads and verifies them exactly as it would upstream.

Usage: mkmirror.py SRCDIR OUTDIR VERSION [--runnable] [--size ID=MIB ...]

Without --runnable the bodies are small random files (crictl is a real
tarball, since start takes the binary out of it). With --runnable they are
things a guest can install: shell scripts that print "fake ID" and exit 1,
containerd and the CNI plugins as tarballs of such scripts, so a guest's
provisioning gets through its binaries stage and fails at the first one
that needs them to work. --size ID=MIB makes ID's body that many MiB of zeros
(benchmarks: the real sizes).
"""
import hashlib
import io
import json
import os
import re
import sys
import tarfile


def tgz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def script(name):
    return ("#!/bin/sh\necho 'fake %s: not a real binary (virtkube test mirror)' >&2\nexit 1\n" % name).encode()


def body(artifact_id, runnable, sizes):
    if artifact_id in sizes:
        data = b"\0" * (sizes[artifact_id] << 20)
    elif runnable:
        data = script(artifact_id)
    else:
        data = b"#!fake " + artifact_id.encode() + b"\n" + os.urandom(4000)
    if artifact_id == "crictl":
        return tgz([("crictl", data)])
    if runnable and artifact_id == "containerd":
        return tgz([("bin/containerd", script("containerd")), ("bin/containerd-shim-runc-v2", script("shim")),
                    ("bin/ctr", script("ctr"))])
    if runnable and artifact_id == "cni-plugins":
        return tgz([("./" + p, script(p)) for p in ("bridge", "host-local", "loopback", "portmap")])
    return data


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    runnable = "--runnable" in argv
    sizes = {}
    for i, a in enumerate(argv):
        if a == "--size":
            k, v = argv[i + 1].split("=")
            sizes[k] = int(v)
            args.remove(argv[i + 1])
    if len(args) != 3:
        sys.exit(__doc__)
    src, out, version = args
    table = json.load(open(os.path.join(src, "vm-images/kubernetes/releases.json")))
    rel = next((r for r in table["releases"] if r["kubernetes"] == version), None)
    if rel is None:
        sys.exit("mkmirror.py: %s is not in releases.json" % version)

    def put(url, data):
        path = os.path.join(out, url.split("/", 3)[3])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    for a in table["artifacts"]:
        e = {k: re.sub(r"\$\{(\w+)\}", lambda m: rel[m.group(1)], v) for k, v in a.items()}
        data = body(e["id"], runnable, sizes)
        put(e["url"], data)
        h, name = hashlib.sha256(data).hexdigest(), e["url"].rsplit("/", 1)[1]
        # dl.k8s.io publishes the bare digest; the others "DIGEST  NAME".
        s = h if e["checksum_url"].startswith("https://dl.k8s.io/") else "%s  %s\n" % (h, e.get("checksum_name") or name)
        put(e["checksum_url"], s.encode())


if __name__ == "__main__":
    main(sys.argv)

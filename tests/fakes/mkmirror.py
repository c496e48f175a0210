#!/usr/bin/env python3
"""A local artifact mirror for tests: the files of one Kubernetes release from
vm-images/kubernetes/releases.json, laid out like the upstream hosts (paths
kept), each with its published checksum file, so `virtkube start --mirror DIR`
downloads and verifies them exactly as it would upstream.

Usage: mkmirror.py SRCDIR OUTDIR VERSION [--runnable] [--size ID=MIB ...]
                   [--from RELEASE|- [--debs DIR] [--runtime DIR]]

Without --runnable or --from the bodies are small random files (crictl is a
real tarball, since start takes the binary out of it). With --runnable they
are things a guest can install: shell scripts that print "fake ID" and exit
1, containerd and the CNI plugins as tarballs of such scripts, so a guest's
provisioning gets through its binaries stage and fails at the first one that
needs them to work. --size ID=MIB makes ID's body that many MiB of zeros
(benchmarks: the real sizes).

--from makes a mirror of real parts. containerd, containerd-shim-runc-v2 and
ctr, runc and the CNI plugins come from Debian's packages (containerd, runc,
containernetworking-plugins), repacked in the upstream layout the release
table expects: containerd-static-*.tar.gz with bin/, runc.amd64 bare, the CNI
tarball flat. kubeadm, kubelet, kubectl (and crictl, when there) come from
RELEASE/bin, a locally built release; with "-" (no release) they and crictl
are --runnable's stand-ins. The .debs are taken from --debs DIR (default
$VIRTKUBE_DEB_CACHE, else ~/.cache/virtkube/debs) and fetched there with
`apt-get download` when missing. --runtime DIR takes them instead from
upstream builds already in the upstream layout, as the product downloads them:
DIR/containerd-static-*-linux-amd64.tar.gz, DIR/runc.amd64 and
DIR/cni-plugins-linux-amd64-*.tgz, served unchanged (one of each; the guest
then runs upstream's containerd 2.x with its config version 3). The file names keep the table's versions
(the paths are what start asks for); what they really hold is written to
OUTDIR/mirror.json ({"id": "where it came from"}) and printed.
"""
import glob
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

DEBS = {"containerd": "containerd", "runc": "runc", "cni-plugins": "containernetworking-plugins"}
CNI_DEB_DIR = "usr/lib/cni"


def tgz(members):
    buf = io.BytesIO()
    # Level 1: the real parts are ~100 MiB, and the default level took 40 s.
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as t:
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


def read(path):
    with open(path, "rb") as f:
        return f.read()


def deb_file(debs, package):
    """The newest .deb of PACKAGE in DEBS, downloaded with apt-get first when there is none."""
    def found():
        return sorted(glob.glob(os.path.join(debs, "%s_*_amd64.deb" % package)))
    if not found():
        os.makedirs(debs, exist_ok=True)
        r = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True, text=True)
        if r.returncode != 0 or not found():
            sys.exit("mkmirror.py: cannot get Debian's %s package into %s: apt-get download said: %s\n"
                     "(run 'apt-get update' first, or put %s_*_amd64.deb there)"
                     % (package, debs, (r.stderr or r.stdout).strip(), package))
    return found()[-1]


def deb_tree(deb, dest):
    """Unpacks DEB into DEST (dpkg-deb -x) and returns its version."""
    subprocess.run(["dpkg-deb", "-x", deb, dest], check=True)
    return subprocess.run(["dpkg-deb", "-f", deb, "Version"], check=True, capture_output=True,
                          text=True).stdout.strip()


RUNTIME_FILES = {"containerd": "containerd-static-*-linux-amd64.tar.gz", "runc": "runc.amd64",
                 "cni-plugins": "cni-plugins-linux-amd64-*.tgz"}


def runtime_file(runtime, artifact_id):
    """The one upstream build of ARTIFACT_ID in RUNTIME (--runtime), by its upstream file name."""
    found = sorted(glob.glob(os.path.join(runtime, RUNTIME_FILES[artifact_id])))
    if len(found) != 1:
        sys.exit("mkmirror.py: --runtime %s must hold exactly one %s (found %d)"
                 % (runtime, RUNTIME_FILES[artifact_id], len(found)))
    return found[0]


def real_body(artifact_id, release, debs, tmp, origin, runtime=None):
    """ID's body made of real parts, and where it came from in ORIGIN."""
    if artifact_id in ("kubeadm", "kubelet", "kubectl", "crictl"):
        path = os.path.join(release, "bin", artifact_id) if release else None
        if not path or not os.path.isfile(path):
            if artifact_id != "crictl" and release:
                sys.exit("mkmirror.py: %s is not in the release directory %s" % (artifact_id, release))
            origin[artifact_id] = "stand-in script (no %s)" % ("release" if not release else path)
            return body(artifact_id, True, {})
        origin[artifact_id] = path
        data = read(path)
        return tgz([("crictl", data)]) if artifact_id == "crictl" else data
    if runtime:
        path = runtime_file(runtime, artifact_id)
        origin[artifact_id] = "upstream build " + path
        return read(path)
    package = DEBS[artifact_id]
    deb = deb_file(debs, package)
    root = os.path.join(tmp, package)
    version = deb_tree(deb, root)
    origin[artifact_id] = "Debian %s %s" % (package, version)
    if artifact_id == "runc":
        return read(os.path.join(root, "usr/sbin/runc"))
    if artifact_id == "containerd":
        return tgz([("bin/" + b, read(os.path.join(root, "usr/bin", b)))
                    for b in ("containerd", "containerd-shim-runc-v2", "ctr")])
    plugins = sorted(os.listdir(os.path.join(root, CNI_DEB_DIR)))
    return tgz([("./" + p, read(os.path.join(root, CNI_DEB_DIR, p))) for p in plugins])


def option(argv, name):
    """Removes every NAME VALUE pair from ARGV and returns the values."""
    values = []
    while name in argv:
        i = argv.index(name)
        if i + 1 >= len(argv):
            sys.exit(__doc__)
        values.append(argv[i + 1])
        del argv[i:i + 2]
    return values


def main(argv):
    argv = argv[1:]
    sizes = dict(v.split("=") for v in option(argv, "--size"))
    sizes = {k: int(v) for k, v in sizes.items()}
    real = option(argv, "--from")
    debs = option(argv, "--debs")
    runtime = option(argv, "--runtime")
    runtime = os.path.abspath(runtime[-1]) if runtime else None
    debs = debs[-1] if debs else os.environ.get("VIRTKUBE_DEB_CACHE") or \
        os.path.join(os.path.expanduser("~"), ".cache/virtkube/debs")
    runnable = "--runnable" in argv
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 3:
        sys.exit(__doc__)
    src, out, version = args
    release = None
    if real:
        release = None if real[-1] == "-" else os.path.abspath(real[-1])
        if release and not os.path.isdir(os.path.join(release, "bin")):
            sys.exit("mkmirror.py: %s has no bin/ directory (a release directory holds bin/kubeadm ...)" % release)
    with open(os.path.join(src, "vm-images/kubernetes/releases.json")) as f:
        table = json.load(f)
    rel = next((r for r in table["releases"] if r["kubernetes"] == version), None)
    if rel is None:
        sys.exit("mkmirror.py: %s is not in releases.json" % version)

    def put(url, data):
        path = os.path.join(out, url.split("/", 3)[3])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    origin = {}
    with tempfile.TemporaryDirectory() as tmp:
        for a in table["artifacts"]:
            e = {k: re.sub(r"\$\{(\w+)\}", lambda m: rel[m.group(1)], v) for k, v in a.items()}
            data = real_body(e["id"], release, debs, tmp, origin, runtime) if real else body(e["id"], runnable, sizes)
            put(e["url"], data)
            h, name = hashlib.sha256(data).hexdigest(), e["url"].rsplit("/", 1)[1]
            # dl.k8s.io publishes the bare digest; the others "DIGEST  NAME".
            s = h if e["checksum_url"].startswith("https://dl.k8s.io/") else \
                "%s  %s\n" % (h, e.get("checksum_name") or name)
            put(e["checksum_url"], s.encode())
    if real:
        with open(os.path.join(out, "mirror.json"), "w") as f:
            json.dump(origin, f, indent=1, sort_keys=True)
        for k in sorted(origin):
            print("mkmirror.py: %s: %s" % (k, origin[k]))


if __name__ == "__main__":
    main(sys.argv)

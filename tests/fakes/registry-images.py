#!/usr/bin/env python3
"""Makes the registry tests' images as one OCI image layout directory.

Usage:
  registry-images.py --out DIR [--busybox PATH] [--layers N] [--layer-size BYTES] [--seed S]

Images (index.json ref names):
  busybox    one gzip layer holding PATH (Debian's busybox-static) as bin/busybox
             and a www/index.html; the config runs `busybox httpd -f -p 8080 -h /www`
  multi      N gzip layers of pseudo-random bytes (LAYER-SIZE each) on top of a
             base layer shared with `shared`
  shared     the shared base layer plus one layer of its own
  multiarch  an OCI index: a linux/amd64 manifest, a linux/arm64 manifest and an
             unknown/unknown attestation-like manifest, each with its own layer

Layers are deterministic for a seed (fixed tar headers, gzip mtime 0), so the
same arguments give the same digests. Python standard library only.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


class Layout:
    def __init__(self, root):
        self.root = root
        os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
        self.refs = []

    def blob(self, data, media_type):
        digest = hashlib.sha256(data).hexdigest()
        path = os.path.join(self.root, "blobs", "sha256", digest)
        if not os.path.exists(path):
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.rename(path + ".tmp", path)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

    def json_blob(self, obj, media_type):
        return self.blob(json.dumps(obj, indent=2, sort_keys=True).encode(), media_type)

    def ref(self, name, desc):
        entry = dict(desc)
        entry["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.refs.append(entry)

    def finish(self):
        with open(os.path.join(self.root, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        with open(os.path.join(self.root, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.refs}, f, indent=2)


def tar_layer(files):
    """files: list of (path, bytes or None for a directory, mode)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, data, mode in files:
            info = tarfile.TarInfo(path)
            info.mtime = 0
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", compresslevel=1, mtime=0) as g:
        g.write(raw.getvalue())
    return gz.getvalue(), diff_id


def image(layout, layers, arch="amd64", os_name="linux", cmd=None):
    """layers: list of (gzip bytes, diff_id). Returns the manifest descriptor."""
    descs = [layout.blob(data, OCI_LAYER_GZIP) for data, _ in layers]
    config = {
        "architecture": arch,
        "os": os_name,
        "config": {"Cmd": cmd or ["/bin/busybox", "true"]},
        "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]},
    }
    cdesc = layout.json_blob(config, OCI_CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cdesc, "layers": descs}
    return layout.json_blob(manifest, OCI_MANIFEST)


def random_layer(rng, name, size):
    return tar_layer([(name, rng.randbytes(size), 0o644)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--busybox", default="/bin/busybox")
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--layer-size", type=int, default=200 * 1024)
    ap.add_argument("--seed", default="virtkube")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    layout = Layout(a.out)

    with open(a.busybox, "rb") as f:
        busybox = f.read()
    page = b"<h1>virtkube busybox</h1>\n"
    bb = tar_layer([("bin", None, 0o755), ("bin/busybox", busybox, 0o755), ("www", None, 0o755),
                    ("www/index.html", page, 0o644)])
    layout.ref("busybox", image(layout, [bb], cmd=["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]))

    base = random_layer(rng, "base.bin", a.layer_size)
    multi = [base] + [random_layer(rng, "layer%d.bin" % i, a.layer_size) for i in range(a.layers)]
    layout.ref("multi", image(layout, multi))
    layout.ref("shared", image(layout, [base, random_layer(rng, "own.bin", 4096)]))

    entries = []
    for os_name, arch in (("linux", "amd64"), ("linux", "arm64"), ("unknown", "unknown")):
        desc = image(layout, [random_layer(rng, arch + ".bin", 8192)], arch=arch, os_name=os_name)
        desc["platform"] = {"os": os_name, "architecture": arch}
        entries.append(desc)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    layout.ref("multiarch", layout.json_blob(index, OCI_INDEX))
    layout.finish()


if __name__ == "__main__":
    main()

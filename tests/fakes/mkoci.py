#!/usr/bin/env python3
"""Makes an OCI image-layout archive (what `ctr images import` and the guest's
images stage read) from root filesystem trees the caller prepared: one
uncompressed layer per image, written reproducibly (sorted names, mtime 0,
owner root), so identical trees share their layer blob.

Usage: mkoci.py OUT.tar --image REF --root DIR [--entrypoint JSON] [--cmd JSON]
                        [--env K=V ...] [--image REF --root DIR ...]

Each --image starts an image; the options after it (until the next --image)
are its own. JSON is a list of strings, e.g. '["/bin/httpd","-f"]'. The
index names each image's manifest with io.containerd.image.name (REF) and
org.opencontainers.image.ref.name (REF too: containerd and skopeo both take
it as the image's name), with its platform (linux/amd64). Prints one line per
image: "REF sha256:MANIFEST_DIGEST", the digest `ctr images ls` shows.
"""
import hashlib
import io
import json
import os
import sys
import tarfile

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def layer_tar(root):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        paths = []
        for d, dirs, files in os.walk(root):
            dirs.sort()
            for n in sorted(dirs + files):
                paths.append(os.path.join(d, n))
        for p in sorted(paths, key=lambda p: os.path.relpath(p, root)):
            info = t.gettarinfo(p, arcname=os.path.relpath(p, root))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if info.isfile():
                with open(p, "rb") as f:
                    t.addfile(info, f)
            else:
                t.addfile(info)
    return buf.getvalue()


class Layout:
    def __init__(self):
        self.blobs = {}

    def blob(self, data, media_type):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def image(self, spec):
        layer = layer_tar(spec["root"])
        layer_desc = self.blob(layer, "application/vnd.oci.image.layer.v1.tar")
        config = {"Env": [PATH_ENV] + spec["env"]}
        if spec.get("entrypoint") is not None:
            config["Entrypoint"] = spec["entrypoint"]
        if spec.get("cmd") is not None:
            config["Cmd"] = spec["cmd"]
        cfg = {
            "architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z", "config": config,
            "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
            "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "virtkube tests/fakes/mkoci.py"}],
        }
        cfg_desc = self.blob(json.dumps(cfg, sort_keys=True).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cfg_desc, "layers": [layer_desc]}
        desc = self.blob(json.dumps(manifest, sort_keys=True).encode(), "application/vnd.oci.image.manifest.v1+json")
        desc["platform"] = {"architecture": "amd64", "os": "linux"}
        desc["annotations"] = {"io.containerd.image.name": spec["ref"], "org.opencontainers.image.ref.name": spec["ref"]}
        return desc

    def write(self, out, manifests):
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
        files = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                 ("index.json", json.dumps(index, sort_keys=True).encode())]
        files += [("blobs/sha256/" + d.split(":", 1)[1], data) for d, data in sorted(self.blobs.items())]
        tmp = out + ".tmp"
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as t:
            for d in ("blobs", "blobs/sha256"):
                info = tarfile.TarInfo(d)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            for name, data in files:
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o644
                t.addfile(info, io.BytesIO(data))
        os.replace(tmp, out)


def parse(argv):
    if len(argv) < 2 or argv[1].startswith("--"):
        sys.exit(__doc__)
    out, images, args = argv[1], [], argv[2:]
    while args:
        opt = args.pop(0)
        if not args:
            sys.exit("mkoci.py: %s needs a value\n%s" % (opt, __doc__))
        val = args.pop(0)
        if opt == "--image":
            images.append({"ref": val, "env": []})
        elif not images:
            sys.exit("mkoci.py: %s before any --image" % opt)
        elif opt == "--root":
            images[-1]["root"] = val
        elif opt in ("--entrypoint", "--cmd"):
            v = json.loads(val)
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                sys.exit("mkoci.py: %s wants a JSON list of strings, not %s" % (opt, val))
            images[-1][opt[2:]] = v
        elif opt == "--env":
            images[-1]["env"].append(val)
        else:
            sys.exit("mkoci.py: unknown option %s\n%s" % (opt, __doc__))
    for i in images:
        if not os.path.isdir(i.get("root", "")):
            sys.exit("mkoci.py: image %s needs --root DIR (a directory)" % i["ref"])
    if not images:
        sys.exit(__doc__)
    return out, images


def main(argv):
    out, images = parse(argv)
    layout = Layout()
    manifests = [layout.image(i) for i in images]
    layout.write(out, manifests)
    for i, m in zip(images, manifests):
        print(i["ref"], m["digest"])


if __name__ == "__main__":
    main(sys.argv)

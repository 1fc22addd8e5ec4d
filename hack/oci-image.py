#!/usr/bin/env python3
"""Reads an OCI image archive (what `buildah push IMAGE oci-archive:FILE` writes) without a
container engine, for hack/build-image.sh and hack/check-image.sh.

    oci-image.py size ARCHIVE          prints the uncompressed size of all layers, in bytes
    oci-image.py config ARCHIVE        prints the image configuration (JSON)
    oci-image.py unpack ARCHIVE DIR    extracts the layers in order into DIR (owners and modes kept)

The archive must hold exactly one image for linux/amd64.
"""

import gzip
import io
import json
import os
import sys
import tarfile

LAYER_TYPES = {
    "application/vnd.oci.image.layer.v1.tar": None,
    "application/vnd.oci.image.layer.v1.tar+gzip": "gz",
    "application/vnd.docker.image.rootfs.diff.tar": None,
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "gz",
}


def die(msg):
    print(f"oci-image.py: {msg}", file=sys.stderr)
    sys.exit(1)


class Archive:
    def __init__(self, path):
        self.tar = tarfile.open(path, "r:*")
        self.names = {m.name.lstrip("./"): m for m in self.tar.getmembers()}
        index = self.json("index.json")
        manifests = index.get("manifests", [])
        if len(manifests) != 1:
            die(f"expected one manifest in index.json, found {len(manifests)}")
        self.manifest = self.json(self.blob_path(manifests[0]["digest"]))
        self.config = self.json(self.blob_path(self.manifest["config"]["digest"]))
        if (self.config.get("os"), self.config.get("architecture")) != ("linux", "amd64"):
            die(f"image is {self.config.get('os')}/{self.config.get('architecture')}, not linux/amd64")

    @staticmethod
    def blob_path(digest):
        algo, _, hexd = digest.partition(":")
        return f"blobs/{algo}/{hexd}"

    def open(self, name):
        member = self.names.get(name)
        if member is None:
            die(f"{name} missing from the archive")
        return self.tar.extractfile(member)

    def json(self, name):
        return json.load(self.open(name))

    def layers(self):
        for layer in self.manifest["layers"]:
            kind = layer["mediaType"]
            if kind not in LAYER_TYPES:
                die(f"unsupported layer type {kind}")
            raw = self.open(self.blob_path(layer["digest"]))
            yield gzip.GzipFile(fileobj=raw) if LAYER_TYPES[kind] == "gz" else raw


def size(archive):
    total = 0
    for layer in archive.layers():
        while chunk := layer.read(1 << 20):
            total += len(chunk)
    return total


def unpack(archive, dest):
    dest = os.path.realpath(dest)
    os.makedirs(dest, exist_ok=True)
    for layer in archive.layers():
        # A seekable copy: tarfile restores directory modes after extracting their contents.
        layer_tar = tarfile.open(fileobj=io.BytesIO(layer.read()), mode="r:")
        members = layer_tar.getmembers()
        for m in members:
            base = os.path.basename(m.name)
            if base.startswith(".wh."):
                die(f"whiteout {m.name}: layers that delete files are not expected here")
            target = os.path.realpath(os.path.join(dest, m.name))
            if target != dest and not target.startswith(dest + os.sep):
                die(f"{m.name} points outside the root file system")
            if m.islnk():
                die(f"hard link {m.name}: not expected in this image")
            if m.issym():
                # /kubectl-whatsapp -> whatsapp-operator: a link may only point inside the root.
                base_dir = dest if m.linkname.startswith("/") else os.path.dirname(target)
                pointed = os.path.realpath(os.path.join(base_dir, m.linkname.lstrip("/")))
                if not pointed.startswith(dest + os.sep):
                    die(f"link {m.name} -> {m.linkname} points outside the root file system")
        # Modes as they are (the sticky /tmp), owners by number: the image is trusted after the
        # checks above, and the newer extraction filters would clear the sticky bit.
        kwargs = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
        layer_tar.extractall(dest, members=members, numeric_owner=True, **kwargs)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("size", "config", "unpack"):
        die("usage: oci-image.py size ARCHIVE | config ARCHIVE | unpack ARCHIVE DIR")
    archive = Archive(sys.argv[2])
    if sys.argv[1] == "size":
        print(size(archive))
    elif sys.argv[1] == "config":
        json.dump(archive.config, sys.stdout, indent=2)
        print()
    else:
        if len(sys.argv) != 4:
            die("usage: oci-image.py unpack ARCHIVE DIR")
        unpack(archive, sys.argv[3])


if __name__ == "__main__":
    main()

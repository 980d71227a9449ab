"""Test artefacts for the mirror scenario (tests only, never shipped): what a bundle would carry.

    python artefacts.py OUT_DIR

writes, once:
  OUT_DIR/files/dl.example.test/hello/v1/hello.txt   a file as the bundle keeps it (upstream host/path)
  OUT_DIR/debs/dockyard-hello_1.0.0_amd64.deb        a real .deb built with dpkg-deb
  OUT_DIR/oci/                                       an OCI image layout (one layer) tagged "1"
  OUT_DIR/sums.json                                  sha256 of the file, the manifest digest
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


def _blob(oci: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    path = oci / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def oci_layout(oci: Path) -> str:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        body = b"hello from the dockyard mirror scenario\n"
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime = len(body), 0
        tar.addfile(info, io.BytesIO(body))
    layer_tar = raw.getvalue()
    layer = _blob(oci, gzip.compress(layer_tar, mtime=0))
    config = _blob(
        oci,
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Cmd": ["/hello.txt"]},
                "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(layer_tar).hexdigest()}"]},
            }
        ).encode(),
    )
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
        }
    ).encode()
    desc = _blob(oci, manifest)
    (oci / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **desc,
                "annotations": {"org.opencontainers.image.ref.name": "1"},
            }
        ],
    }
    (oci / "index.json").write_text(json.dumps(index))
    return str(desc["digest"])


def deb(out: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "DEBIAN").mkdir()
        (root / "DEBIAN" / "control").write_text(
            "Package: dockyard-hello\nVersion: 1.0.0\nArchitecture: amd64\nSection: misc\nPriority: optional\n"
            "Maintainer: Dockyard tests <t@dockyard.invalid>\n"
            "Description: test package of the mirror scenario\n"
        )
        target = root / "usr" / "share" / "dockyard-hello"
        target.mkdir(parents=True)
        (target / "hello.txt").write_text("installed from the mirror's signed repository\n")
        out.mkdir(parents=True, exist_ok=True)
        path = out / "dockyard-hello_1.0.0_amd64.deb"
        build = ["dpkg-deb", "--root-owner-group", "--build", str(root), str(path)]
        subprocess.run(build, check=True, capture_output=True)
    return path


def main(out: Path) -> int:
    if (out / "sums.json").exists():
        return 0
    file = out / "files" / "dl.example.test" / "hello" / "v1" / "hello.txt"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text("a file served by the mirror\n")
    deb(out / "debs")
    digest = oci_layout(out / "oci")
    sums = {"file_sha256": hashlib.sha256(file.read_bytes()).hexdigest(), "image_digest": digest}
    (out / "sums.json").write_text(json.dumps(sums))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))

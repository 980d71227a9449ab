"""The Harbor stand-in installer for the air-gap chain (tests only): see tests/standins/catalogue_standins.py.

Its images are built FROM the lab's own base image (``DOCKYARD_TEST_IMAGE``, the image `invoke hosts
up` builds), which this machine has without any registry."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

from dockyard import catalogue
from tests.standins.built import Built
from tests.standins.catalogue_standins import Builder
from tests.standins.harbor import build

CACHE = Path(__file__).resolve().parents[3] / ".cache" / "standins" / "harbor"


def _installer(art: catalogue.Artefact, work: Path) -> Built:
    base = os.environ.get("DOCKYARD_TEST_IMAGE")
    if not base:
        raise RuntimeError("the Harbor stand-in needs DOCKYARD_TEST_IMAGE (the lab's base image) to build its images")
    return build.build_installer(art.version, base, CACHE)


def builders() -> dict[tuple[str, str], Builder]:
    return {("harbor", "harbor-offline-installer"): _installer, ("harbor", "trivy-db"): _trivy_db}


TRIVY_CONFIG = "application/vnd.aquasec.trivy.config.v1+json"
TRIVY_LAYER = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"


def _trivy_db(art: catalogue.Artefact, work: Path) -> Built:
    """An OCI layout shaped like ``ghcr.io/aquasecurity/trivy-db:2``: one layer of Trivy's database
    media type holding ``trivy.db`` (a STAND-IN: not a vulnerability database) and ``metadata.json``."""
    out = work / "trivy-db"
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    metadata = {"Version": 2, "NextUpdate": "2027-01-01T00:00:00Z", "UpdatedAt": "2026-12-01T00:00:00Z"}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in (("trivy.db", b"STAND-IN trivy.db (Dockyard tests only)\n"),
                           ("metadata.json", json.dumps(metadata).encode())):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": TRIVY_CONFIG, **blob(b"{}")},
        "layers": [
            {"mediaType": TRIVY_LAYER, **blob(layer), "annotations": {"org.opencontainers.image.title": "db.tar.gz"}}
        ],
    }
    ref = blob(json.dumps(manifest, sort_keys=True).encode())
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **ref,
             "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}  # fmt: skip
    (out / "index.json").write_text(json.dumps(index))
    (out / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return Built(out, str(ref["digest"]), 0)

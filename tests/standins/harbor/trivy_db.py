"""A STAND-IN of Trivy's vulnerability database artefact (tests only, never shipped; no real data).

Upstream publishes ``ghcr.io/aquasecurity/trivy-db:2`` as an OCI artifact (trivy docs
guide/configuration/db.md): a manifest whose config has media type
``application/vnd.aquasec.trivy.config.v1+json`` and one layer
``application/vnd.aquasec.trivy.db.layer.v1.tar+gzip`` holding ``trivy.db`` and
``metadata.json``. This builds that shape as an OCI layout (no daemon) that skopeo can push:
``metadata.json`` has the schema version 2 fields Trivy reads; ``trivy.db`` is a marker file, not
a BoltDB, so the stand-in Trivy adapter (image/services.py) can only check that it is where the
adapter reads it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

CONFIG_TYPE = "application/vnd.aquasec.trivy.config.v1+json"
LAYER_TYPE = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
MTIME = 1_700_000_000
METADATA = {
    "Version": 2,
    "NextUpdate": "2026-12-02T12:00:00Z",
    "UpdatedAt": "2026-12-02T06:00:00Z",
    "DownloadedAt": "2026-12-02T06:10:00Z",
}
MARKER = b"STAND-IN trivy.db (Dockyard tests; not Trivy's database)\n"


def layer() -> bytes:
    """The database layer: trivy.db and metadata.json, gzip'd tar, deterministic."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in (("trivy.db", MARKER), ("metadata.json", json.dumps(METADATA).encode())):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), MTIME, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def oci_layout(out: Path, tag: str = "2") -> str:
    """The artifact as an OCI layout at ``out`` under ``tag`` (upstream's is ``2``); returns the
    manifest's digest (``sha256:...``), which a registry it is pushed to serves it by."""
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": CONFIG_TYPE, **blob(b"{}")},
        "layers": [
            {"mediaType": LAYER_TYPE, **blob(layer()), "annotations": {"org.opencontainers.image.title": "db.tar.gz"}}
        ],
    }
    entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **blob(json.dumps(manifest).encode())}
    index = {"schemaVersion": 2, "manifests": [{**entry, "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (out / "index.json").write_text(json.dumps(index))
    (out / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return str(entry["digest"])

"""Images into the bundle's OCI layout, by digest, with skopeo (digests never change on the way).

Multi-architecture images are copied whole (``--multi-arch all``): keeping only some platforms
would change the index digest the catalogue pins. Registry TLS and credentials are skopeo's own
configuration (containers-registries.conf(5), auth.json); ``CONTAINERS_REGISTRIES_CONF``, when set,
is handed to skopeo as ``--registries-conf`` (skopeo 1.9 does not read the variable itself).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dockyard.problems import DockyardError

SKOPEO = "skopeo"
REF_NAME = "org.opencontainers.image.ref.name"


class ImageError(DockyardError):
    pass


@dataclass(frozen=True)
class ImageJob:
    name: str  # component/id
    ref: str  # upstream name:tag
    digest: str | None  # sha256:<hex>; None: resolve it now (trust on first use)

    @property
    def repository(self) -> str:
        """``quay.io/argoproj/argocd:v3.4.4`` -> ``quay.io/argoproj/argocd`` (tag and digest dropped)."""
        name = self.ref.split("@", 1)[0]
        last = name.rsplit("/", 1)[-1]
        return name.rsplit(":", 1)[0] if ":" in last else name

    @property
    def oci_ref(self) -> str:
        """The name under which the layout's index.json holds the image: its upstream name:tag."""
        return self.ref.split("@", 1)[0]


def _skopeo(*args: str) -> subprocess.CompletedProcess[bytes]:
    if shutil.which(SKOPEO) is None:
        raise ImageError("skopeo: not found (install it: apt-get install skopeo)")
    conf = os.environ.get("CONTAINERS_REGISTRIES_CONF")
    options = ["--registries-conf", conf] if conf else []
    return subprocess.run([SKOPEO, *options, *args], capture_output=True, check=False)


def _failure(proc: subprocess.CompletedProcess[bytes]) -> str:
    lines = proc.stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit {proc.returncode}"


def resolve_digest(job: ImageJob) -> str:
    """The registry's digest of ``job.ref`` now: sha256 of the raw manifest (or index) bytes."""
    proc = _skopeo("inspect", "--raw", f"docker://{job.oci_ref}")
    if proc.returncode != 0:
        raise ImageError(f"{job.name}: skopeo inspect {job.oci_ref}: {_failure(proc)}")
    return "sha256:" + hashlib.sha256(proc.stdout).hexdigest()


def present(layout: Path, oci_ref: str, digest: str) -> bool:
    """True when the layout's index names ``oci_ref`` at ``digest`` and holds that manifest blob."""
    index = layout / "index.json"
    if not index.is_file():
        return False
    try:
        manifests = json.loads(index.read_text()).get("manifests") or []
    except (ValueError, OSError):
        return False
    algo, _, hexdigest = digest.partition(":")
    return (
        any(m.get("digest") == digest and (m.get("annotations") or {}).get(REF_NAME) == oci_ref for m in manifests)
        and (layout / "blobs" / algo / hexdigest).is_file()
    )


def copy(job: ImageJob, digest: str, layout: Path) -> None:
    """``skopeo copy docker://<repository>@<digest> oci:<layout>:<name:tag>``; the copy keeps the digest."""
    layout.mkdir(parents=True, exist_ok=True)
    proc = _skopeo(
        "copy",
        "--quiet",
        "--multi-arch",
        "all",
        "--preserve-digests",
        f"docker://{job.repository}@{digest}",
        f"oci:{layout}:{job.oci_ref}",
    )
    if proc.returncode != 0:
        raise ImageError(f"{job.name}: skopeo copy {job.repository}@{digest}: {_failure(proc)}")
    if not present(layout, job.oci_ref, digest):
        raise ImageError(f"{job.name}: after skopeo copy, {layout}/index.json does not hold {job.oci_ref} at {digest}")

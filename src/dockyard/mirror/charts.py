"""Where helm reads a chart from: the catalogue's URL online; air-gapped, the mirror's copy.

Charts are files on the mirror (``https://<mirror>/files/<upstream host>/<path>``, carried in the
bundle as the upstream ``.tgz`` and loaded by ``invoke bundle.load`` like every other file), not
OCI artefacts in the registry: the catalogue pins each chart by the sha256 of that ``.tgz``, which
an OCI push would not keep (a chart in a registry is addressed by a manifest digest no upstream
publishes), and the same path serves every chart whatever its upstream (a helm repository's
``index.yaml`` or a GitHub release).

Air-gapped, the controller fetches the chart itself, over TLS verified against the internal CA
only (helm has no CA option for a chart URL, and the controller's trust store need not hold the
internal CA), checks the catalogue's sha256, keeps it under ``<state dir>/charts/`` and hands helm
that file: a chart whose bytes differ from the pin is never installed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import requests

from dockyard import catalogue
from dockyard.problems import DockyardError, InvalidInput

TIMEOUT_S = 60
CHUNK = 1 << 16


def helm_source(art: catalogue.Artefact, source: catalogue.Source, *, state_dir: Path, ca_file: Path) -> str:
    """The chart reference to give helm for ``art`` (a ``chart`` artefact)."""
    resolved = catalogue.resolve(art, source)
    location = resolved["location"]
    if not location:
        raise InvalidInput(f"dockyard_catalogue: {art.component}: {art.id} has no download URL")
    if not resolved["from_mirror"]:
        return str(location)
    if not art.sha256:
        raise InvalidInput(
            f"dockyard_catalogue: {art.component}: {art.id}: sha256 unknown; air-gapped, every chart needs its pin"
        )
    cached = state_dir / "charts" / f"{art.sha256[:16]}-{resolved['file_name']}"
    if cached.is_file() and _sha256(cached) == art.sha256:
        return str(cached)
    _fetch(str(location), art, cached, ca_file)
    return str(cached)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, art: catalogue.Artefact, dest: Path, ca_file: Path) -> None:
    what = f"chart {art.component}/{art.id}"
    if not ca_file.is_file():
        raise InvalidInput(
            f"{ca_file}: not found: the internal CA certificate the mirror's TLS is checked against "
            f"(run the internal_ca phase first)"
        )
    try:
        response = requests.get(url, verify=str(ca_file), timeout=TIMEOUT_S, stream=True)
    except requests.RequestException as exc:
        raise DockyardError(f"{what}: {url}: {type(exc).__name__}: the mirror did not answer ({exc})") from None
    with response:
        if response.status_code == 404:
            raise DockyardError(
                f"{what}: {url}: not on the mirror (load the bundle that carries it: invoke bundle.load DIR --env ENV)"
            )
        if response.status_code != 200:
            raise DockyardError(f"{what}: {url}: HTTP {response.status_code} from the mirror")
        dest.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                for block in response.iter_content(CHUNK):
                    digest.update(block)
                    out.write(block)
            if digest.hexdigest() != art.sha256:
                raise DockyardError(
                    f"{what}: {url}: sha256 {digest.hexdigest()}, but the catalogue pins {art.sha256} "
                    f"(the mirror holds other bytes: reload it from a verified bundle)"
                )
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

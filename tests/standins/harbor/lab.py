"""The Harbor stand-ins for the air-gap chain (tests only): see tests/standins/catalogue_standins.py.

The installer's images are built FROM the lab's own base image (``DOCKYARD_TEST_IMAGE``, the image
`invoke hosts up` builds), which this machine has without any registry. Trivy's database is the
OCI artefact of tests/standins/harbor/trivy_db.py (Trivy's media types; the harbor role unpacks
its database layer for the adapter), the same one the Molecule scenario copies."""

from __future__ import annotations

import os
from pathlib import Path

from dockyard import catalogue
from tests.standins.built import Built
from tests.standins.catalogue_standins import Builder
from tests.standins.harbor import build, trivy_db

CACHE = Path(__file__).resolve().parents[3] / ".cache" / "standins" / "harbor"


def _installer(art: catalogue.Artefact, work: Path) -> Built:
    base = os.environ.get("DOCKYARD_TEST_IMAGE")
    if not base:
        raise RuntimeError("the Harbor stand-in needs DOCKYARD_TEST_IMAGE (the lab's base image) to build its images")
    return build.build_installer(art.version, base, CACHE)


def _trivy_db(art: catalogue.Artefact, work: Path) -> Built:
    """An OCI layout (tag ``latest``, as the chain pushes layouts) and its manifest digest."""
    out = work / "trivy-db"
    return Built(out, trivy_db.oci_layout(out, tag="latest"), 0)


def builders() -> dict[tuple[str, str], Builder]:
    return {("harbor", "harbor-offline-installer"): _installer, ("harbor", "trivy-db"): _trivy_db}

"""The Harbor stand-in installer for the air-gap chain (tests only): see tests/standins/catalogue_standins.py.

Its images are built FROM the lab's own base image (``DOCKYARD_TEST_IMAGE``, the image `invoke hosts
up` builds), which this machine has without any registry."""

from __future__ import annotations

import os
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
    return {("harbor", "harbor-offline-installer"): _installer}

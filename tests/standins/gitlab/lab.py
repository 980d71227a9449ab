"""The GitLab stand-in package for the air-gap chain (tests only): see tests/standins/catalogue_standins.py."""

from __future__ import annotations

from pathlib import Path

from dockyard import catalogue
from tests.standins.built import Built
from tests.standins.catalogue_standins import Builder
from tests.standins.gitlab import build


def _package(art: catalogue.Artefact, work: Path) -> Built:
    assert art.arch
    return build.build(work / "gitlab", art.version, art.arch)


def builders() -> dict[tuple[str, str], Builder]:
    product = catalogue.product()
    return {("gitlab", art_id): _package for art_id in product["gitlab"]["artefacts"]}

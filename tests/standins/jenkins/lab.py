"""The Jenkins stand-ins for the air-gap chain (tests only): the core package and every plugin of the
lockfile, see tests/standins/catalogue_standins.py."""

from __future__ import annotations

from pathlib import Path

from dockyard import catalogue
from tests.standins.built import Built
from tests.standins.catalogue_standins import Builder
from tests.standins.jenkins import build_jenkins, build_plugin


def _core(art: catalogue.Artefact, work: Path) -> Built:
    return build_jenkins(work / "jenkins", art.version)


def _plugin(art: catalogue.Artefact, work: Path) -> Built:
    requires = dict(catalogue.product()["jenkins_plugins"]["artefacts"].get(art.id, {}).get("requires") or {})
    return build_plugin(work / "jenkins-plugins", art.id, art.version, requires)


def builders() -> dict[tuple[str, str], Builder]:
    product = catalogue.product()
    found: dict[tuple[str, str], Builder] = {("jenkins", "jenkins-deb"): _core}
    for plugin_id in product["jenkins_plugins"]["artefacts"]:
        found[("jenkins_plugins", plugin_id)] = _plugin
    return found

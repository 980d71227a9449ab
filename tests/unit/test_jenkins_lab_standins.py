"""tests/standins/jenkins/lab.py: the air-gapped lab gets a stand-in for the Jenkins core and every
plugin of the lockfile, built at the version the MERGED catalogue resolves (the lab pins the 2.541
line over the product's core), named as the role fetches them (the url's file name)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from dockyard import catalogue
from tests.standins.jenkins import lab

LAB_PIN = {
    "jenkins": {
        "version": "2.541.3",
        "artefacts": {"jenkins-deb": {"url": "https://get.jenkins.io/debian-stable/jenkins_2.541.3_all.deb"}},
    }
}


def test_every_locked_plugin_and_the_core_have_a_builder() -> None:
    merged = catalogue.merged(LAB_PIN)
    wanted = {("jenkins", "jenkins-deb")} | {("jenkins_plugins", p) for p in merged["jenkins_plugins"]["artefacts"]}
    assert wanted <= set(lab.builders())


def test_the_core_is_built_at_the_labs_pin_and_a_plugin_at_its_locked_version(tmp_path: Path) -> None:
    merged = catalogue.merged(LAB_PIN)
    builders = lab.builders()
    core = catalogue.artefact(merged, "jenkins", "jenkins-deb")
    built = builders[("jenkins", "jenkins-deb")](core, tmp_path)
    assert built.path.name == Path(core.url or "").name
    fields = subprocess.run(["dpkg-deb", "-f", str(built.path)], capture_output=True, text=True, check=True).stdout
    assert "Package: jenkins\n" in fields and "Version: 2.541.3\n" in fields
    plugin = catalogue.artefact(merged, "jenkins_plugins", "kubernetes")
    hpi = builders[("jenkins_plugins", "kubernetes")](plugin, tmp_path)
    manifest = zipfile.ZipFile(hpi.path).read("META-INF/MANIFEST.MF").decode()
    assert "Short-Name: kubernetes" in manifest and f"Plugin-Version: {plugin.version}" in manifest

"""The artefact source: upstream when online, the mirror when air-gapped, never a guessed checksum."""

from __future__ import annotations

import pytest

from dockyard import catalogue
from dockyard.problems import InvalidInput

CATALOGUE = catalogue.product()
ONLINE = catalogue.Source(airgap=False)
AIRGAP = catalogue.Source(airgap=True, mirror_fqdn="mirror.lab.test", mirror_registry="mirror.lab.test:5000")


@pytest.mark.parametrize(
    ("ref", "mirrored"),
    [
        ("redis:7", "m:5000/docker.io/library/redis:7"),
        ("bitnami/redis:7", "m:5000/docker.io/bitnami/redis:7"),
        ("quay.io/argoproj/argocd:v3.4.4", "m:5000/quay.io/argoproj/argocd:v3.4.4"),
        ("registry.k8s.io/pause:3.10.1", "m:5000/registry.k8s.io/pause:3.10.1"),
    ],
)
def test_mirror_keeps_the_upstream_registry(ref: str, mirrored: str) -> None:
    assert catalogue.mirror_image_ref(ref, "m:5000") == mirrored


def test_file_artefact_online_and_airgapped() -> None:
    art = catalogue.artefact(CATALOGUE, "helm", "helm-linux-amd64")
    online = catalogue.resolve(art, ONLINE)
    assert online["location"] == "https://get.helm.sh/helm-v3.20.0-linux-amd64.tar.gz"
    assert online["checksum"] == f"sha256:{art.sha256}" and len(art.sha256 or "") == 64
    offline = catalogue.resolve(art, AIRGAP)
    assert offline["location"] == "https://mirror.lab.test/files/get.helm.sh/helm-v3.20.0-linux-amd64.tar.gz"
    assert offline["checksum"] == online["checksum"]


def test_unknown_checksum_is_empty_not_invented() -> None:
    art = catalogue.artefact(CATALOGUE, "harbor", "harbor-offline-installer")
    assert catalogue.resolve(art, ONLINE)["checksum"] == ""


def test_image_artefact_goes_to_the_mirror_when_airgapped() -> None:
    art = catalogue.artefact(CATALOGUE, "pause_image")
    digest = f"@sha256:{art.sha256}"
    assert catalogue.resolve(art, ONLINE)["location"] == "registry.k8s.io/pause:3.10.1" + digest
    assert catalogue.resolve(art, AIRGAP)["location"] == "mirror.lab.test:5000/registry.k8s.io/pause:3.10.1" + digest


def test_overrides_merge_key_by_key_over_the_product() -> None:
    merged = catalogue.merged(
        {
            "helm": {"version": "3.21.0", "artefacts": {"helm-linux-amd64": {"url": "https://files.example/helm.tgz"}}},
            "extra": {
                "phases": ["tools"],
                "artefacts": {"x": {"kind": "file", "url": "https://e/x", "sha256": "unknown"}},
            },
        }
    )
    helm = merged["helm"]
    assert helm["version"] == "3.21.0"
    assert helm["artefacts"]["helm-linux-amd64"]["url"] == "https://files.example/helm.tgz"
    assert (
        helm["artefacts"]["helm-linux-amd64"]["sha256"] == CATALOGUE["helm"]["artefacts"]["helm-linux-amd64"]["sha256"]
    )
    assert helm["artefacts"]["helm-linux-arm64"] == CATALOGUE["helm"]["artefacts"]["helm-linux-arm64"]
    assert "extra" in merged and set(merged) - {"extra"} == set(CATALOGUE)
    assert catalogue.merged(None) == CATALOGUE
    assert catalogue.overrides_in_force({"helm": {"version": "1"}, "extra": {}}) == ["helm.version", "extra (added)"]


def test_every_component_names_its_phases_and_every_artefact_a_known_kind() -> None:
    for name, comp in CATALOGUE.items():
        assert comp["phases"], name
        for aid, art in comp["artefacts"].items():
            assert art["kind"] in catalogue.KINDS, (name, aid)


def test_unknown_component_and_artefact_are_clear() -> None:
    with pytest.raises(InvalidInput, match="nope: not in the catalogue"):
        catalogue.artefact(CATALOGUE, "nope")
    with pytest.raises(InvalidInput, match=r"has \d+ artefacts \(name one of"):
        catalogue.artefact(CATALOGUE, "kubernetes")


def test_every_artefact_has_a_source_or_a_reason() -> None:
    for name, comp in CATALOGUE.items():
        for aid, art in comp["artefacts"].items():
            if art["sha256"] == "unknown":
                assert art.get("unknown_reason"), (name, aid)
            else:
                assert art.get("sha256_source"), (name, aid)

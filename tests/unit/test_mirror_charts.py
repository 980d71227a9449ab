"""Where helm reads a chart from (dockyard.mirror.charts): online the catalogue's URL; air-gapped the
mirror's /files/ copy, fetched by the controller over TLS verified against the internal CA only,
checked against the catalogue's sha256 and kept in the state dir. A real HTTPS server on 127.0.0.1
(the test kit's upstream) plays the mirror's nginx; the argocd phase and the ingress phase are
checked to take their chart through it when air-gapped."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard import catalogue, ingress, pki
from dockyard.gitops import argocd_values
from dockyard.gitops import phase as argocd_phase
from dockyard.gitops.settings import ArgoSettings
from dockyard.mirror import charts
from dockyard.problems import DockyardError, InvalidInput
from dockyard.spec.validate import build
from tests.catalogue_pins import unknowns_pinned
from tests.standins.upstream import TestUpstream
from tests.unit.test_ingress import spec

CHART_BYTES = b"\x1f\x8b not really a chart, but bytes with a pin\n"
UPSTREAM = "https://github.com/argoproj/argo-helm/releases/download/argo-cd-9.9.9/argo-cd-9.9.9.tgz"


def _art(sha256: str | None = hashlib.sha256(CHART_BYTES).hexdigest()) -> catalogue.Artefact:
    cat = {"argocd_chart": {"version": "9.9.9", "phases": ["argocd"], "artefacts": {
        "argo-cd-chart": {"kind": "chart", "url": UPSTREAM, "sha256": sha256}}}}  # fmt: skip
    return catalogue.artefact(cat, "argocd_chart", "argo-cd-chart")


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[TestUpstream, Path]]:
    """An HTTPS server with the internal CA's certificate, serving ``/files/<upstream host>/<path>``."""
    ca, _ = pki.load_or_create_ca(tmp_path / "ca", "Dockyard test internal CA")
    cert_pem, key_pem = ca.sign(pki.CertRequest("mirror", ("localhost",), ("127.0.0.1",)))
    (tmp_path / "tls").mkdir()
    cert, key = tmp_path / "tls" / "mirror.crt", tmp_path / "tls" / "mirror.key"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    with TestUpstream(tmp_path / "www", cert, key) as server:
        yield server, ca.cert_path


def _publish(server: TestUpstream, data: bytes = CHART_BYTES) -> None:
    path = server.root / catalogue.mirror_file_path(UPSTREAM)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _airgapped(server: TestUpstream) -> catalogue.Source:
    address = server.base_url.removeprefix("https://")
    return catalogue.Source(airgap=True, mirror_fqdn=address, mirror_registry="mirror.test:5000")


def test_online_helm_reads_the_catalogue_url_and_nothing_is_fetched(tmp_path: Path) -> None:
    got = charts.helm_source(_art(), catalogue.Source(airgap=False), state_dir=tmp_path, ca_file=tmp_path / "no-ca")
    assert got == UPSTREAM
    assert not (tmp_path / "charts").exists()


def test_airgapped_the_chart_comes_from_the_mirror_verified_and_cached(
    mirror: tuple[TestUpstream, Path], tmp_path: Path
) -> None:
    server, ca = mirror
    _publish(server)
    state = tmp_path / "state"
    got = Path(charts.helm_source(_art(), _airgapped(server), state_dir=state, ca_file=ca))
    assert got.parent == state / "charts" and got.read_bytes() == CHART_BYTES
    assert [h.path for h in server.hits] == ["/" + catalogue.mirror_file_path(UPSTREAM)]
    again = charts.helm_source(_art(), _airgapped(server), state_dir=state, ca_file=ca)
    assert Path(again) == got and len(server.hits) == 1  # the verified copy is reused


def test_other_bytes_on_the_mirror_are_refused_and_nothing_is_kept(
    mirror: tuple[TestUpstream, Path], tmp_path: Path
) -> None:
    server, ca = mirror
    _publish(server, b"tampered")
    with pytest.raises(DockyardError, match=f"but the catalogue pins {hashlib.sha256(CHART_BYTES).hexdigest()}"):
        charts.helm_source(_art(), _airgapped(server), state_dir=tmp_path, ca_file=ca)
    assert list((tmp_path / "charts").iterdir()) == []


def test_a_chart_not_loaded_names_bundle_load(mirror: tuple[TestUpstream, Path], tmp_path: Path) -> None:
    server, ca = mirror
    with pytest.raises(DockyardError, match=r"not on the mirror \(load the bundle that carries it: invoke bundle.load"):
        charts.helm_source(_art(), _airgapped(server), state_dir=tmp_path, ca_file=ca)


def test_tls_is_checked_against_the_internal_ca_only(mirror: tuple[TestUpstream, Path], tmp_path: Path) -> None:
    server, _ca = mirror
    _publish(server)
    other, _ = pki.load_or_create_ca(tmp_path / "other-ca", "Some other CA")
    with pytest.raises(DockyardError, match="SSLError"):
        charts.helm_source(_art(), _airgapped(server), state_dir=tmp_path, ca_file=other.cert_path)
    with pytest.raises(InvalidInput, match="run the internal_ca phase first"):
        charts.helm_source(_art(), _airgapped(server), state_dir=tmp_path, ca_file=tmp_path / "missing.crt")


def test_airgapped_a_chart_without_pin_is_refused(tmp_path: Path) -> None:
    source = catalogue.Source(airgap=True, mirror_fqdn="mirror.test", mirror_registry="mirror.test:5000")
    with pytest.raises(InvalidInput, match="argo-cd-chart: sha256 unknown; air-gapped, every chart needs its pin"):
        charts.helm_source(_art(None), source, state_dir=tmp_path, ca_file=tmp_path / "ca.crt")


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs the phases ask the mirror for (the fetch itself is tested above)."""
    urls: list[str] = []

    def fake_fetch(url: str, art: catalogue.Artefact, dest: Path, ca_file: Path) -> None:
        urls.append(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text("chart")

    monkeypatch.setattr(charts, "_fetch", fake_fetch)
    monkeypatch.setattr(charts, "_sha256", lambda _path: "never the pin")
    return urls


def _spec(tmp_path: Path, airgap: bool) -> dict[str, Any]:
    extra: dict[str, Any] = {"dockyard_state_dir": str(tmp_path / "state")}
    if airgap:
        extra.update(dockyard_airgap=True, dockyard_catalogue=unknowns_pinned())
    return spec(**extra)


@pytest.mark.parametrize("airgap", [False, True])
def test_the_argocd_and_ingress_phases_take_their_chart_from_the_mirror_when_airgapped(
    airgap: bool, tmp_path: Path, fetched: list[str]
) -> None:
    s = _spec(tmp_path, airgap)
    platform = build(dict(s))
    settings = ArgoSettings.from_spec(tmp_path, s, platform, "dev")
    argo_ref, _ = argocd_phase._chart(platform, s, "", settings)
    traefik_ref, _ = ingress.chart(s, tmp_path)
    cat = s["dockyard_catalogue"]
    urls = [
        cat[argocd_values.CHART_COMPONENT]["artefacts"][argocd_values.CHART_ARTEFACT]["url"],
        cat[ingress.COMPONENT]["artefacts"][ingress.CHART_ARTEFACT]["url"],
    ]
    if not airgap:
        assert [argo_ref, traefik_ref] == urls and fetched == []
        return
    assert fetched == [catalogue.mirror_file_url(u, platform.mirror_fqdn) for u in urls]
    assert all(u.startswith(f"https://{platform.mirror_fqdn}/files/") for u in fetched)
    for ref in (argo_ref, traefik_ref):
        assert Path(ref).parent == tmp_path / "state" / "charts"

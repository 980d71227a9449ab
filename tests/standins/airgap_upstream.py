"""TEST upstreams for the air-gap chain (tests only, never shipped): every artefact the product's
catalogue bundles, served over HTTPS by the test file upstream (tests/standins/upstream.py) and by Debian's
docker-registry, plus the ``dockyard_catalogue`` overlay that points the catalogue at them with
the test artefacts' own sha256 and digests.

Where this machine has the real binary, the artefact IS that binary in the upstream layout:

* ``containerd-static-<v>-linux-amd64.tar.gz``: Debian's containerd 1.6 binaries under ``bin/``
  (upstream's layout), so the version inside is Debian's, not the catalogue's;
* ``runc.amd64``: Debian's runc binary, as upstream publishes it (a bare binary);
* ``helm-v<v>-linux-amd64.tar.gz``: the helm binary from the virtualenv's wheel, under
  ``linux-amd64/helm`` (its own version is whatever the wheel carries);
* ``argo-cd-<v>.tgz`` and ``traefik-<v>.tgz``: the argo-cd and Traefik charts vendored in
  tests/reference, packaged as ``helm package`` lays them out.

Every other file is a small stand-in named and placed like upstream's (content says what it is);
every image is a one-layer image built here (an OCI layout written in Python) and pushed with
skopeo. Build once per test session (:func:`build_all`) and reuse: issue 9's zero-egress test
loads bundles built from the same upstreams.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dockyard import catalogue, pki
from tests.standins import catalogue_standins
from tests.standins.built import Built
from tests.standins.debs import build_deb
from tests.standins.tarballs import build_tarball
from tests.standins.upstream import TestUpstream

ROOT = Path(__file__).resolve().parents[2]
CHART_SOURCE = ROOT / "tests" / "reference" / "argo-cd-chart" / "argo-cd"
TRAEFIK_CHART_SOURCE = ROOT / "tests" / "reference" / "ingress" / "traefik-helm-chart" / "traefik"
REGISTRY_BINARY = "/usr/bin/docker-registry"
# The real charts the tests package ((catalogue component, artefact) -> vendored source, files left out):
# traefik/.helmignore upstream lists crds/kustomization.yaml (traefik-helm-chart PR #653): it is for
# kustomize users of the repository, not part of the published chart.
VENDORED_CHARTS: dict[tuple[str, str], tuple[Path, tuple[str, ...]]] = {
    ("argocd_chart", "argo-cd-chart"): (CHART_SOURCE, ()),
    ("traefik", "traefik-chart"): (TRAEFIK_CHART_SOURCE, ("crds/kustomization.yaml",)),
}


# ------------------------------------------------------------------------------- real artefacts


def containerd_static(out: Path, version: str) -> Built:
    """Debian's containerd in containerd's static release layout (bin/containerd, ...)."""
    files = {
        f"bin/{name}": ((Path("/usr/bin") / name).read_bytes(), 0o755)
        for name in ("containerd", "containerd-shim-runc-v2", "ctr")
    }
    return build_tarball(out / f"containerd-static-{version}-linux-amd64.tar.gz", None, files)


def runc_binary(out: Path) -> Built:
    target = out / "runc.amd64"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path("/usr/sbin/runc"), target)
    return Built.of(target)


def helm_archive(out: Path, version: str) -> Built:
    helm = ROOT / ".venv" / "bin" / "helm"
    files = {"helm": (helm.read_bytes(), 0o755), "LICENSE": b"Apache License 2.0 (stand-in text)\n"}
    return build_tarball(out / f"helm-v{version}-linux-amd64.tar.gz", "linux-amd64", files)


def chart_archive(out: Path, source: Path, version: str, helmignore: tuple[str, ...] = ()) -> Built:
    """A vendored upstream chart (tests/reference), packaged as `helm package` lays it out, leaving
    out what the chart's own .helmignore (not vendored) leaves out."""
    files = {
        p.relative_to(source).as_posix(): p.read_bytes()
        for p in sorted(source.rglob("*"))
        if p.is_file() and p.relative_to(source).as_posix() not in helmignore
    }
    return build_tarball(out / f"{source.name}-{version}.tgz", source.name, files)


def vendored_chart(out: Path, component: str, artefact: str, version: str) -> Built:
    """The catalogue's chart ``component``/``artefact`` (one of VENDORED_CHARTS), packaged from its
    vendored upstream source."""
    source, helmignore = VENDORED_CHARTS[(component, artefact)]
    return chart_archive(out, source, version, helmignore)


# ------------------------------------------------------------------------------- stand-ins


def _standin_file(out: Path, art: catalogue.Artefact) -> Built:
    assert art.url is not None
    name = art.file_name
    text = f"stand-in for {art.component}/{art.id} {art.version} (tests/standins/airgap_upstream.py)\n".encode()
    if art.kind == "deb":
        assert art.package and art.arch
        built = build_deb(
            out / "debs", art.package, art.version, art.arch, {f"/usr/share/doc/{art.package}/STANDIN": text},
            description=f"stand-in for {art.package}",
        )  # fmt: skip
        return built
    target = out / "files" / art.component / name
    if name.endswith((".tar.gz", ".tgz")):
        return build_tarball(target, None, {"STANDIN": text})
    target.parent.mkdir(parents=True, exist_ok=True)
    if art.kind == "jenkins-plugin":  # an .hpi is a zip with a manifest
        import zipfile  # noqa: PLC0415

        with zipfile.ZipFile(target, "w") as zf:
            zf.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", (2020, 1, 1, 0, 0, 0)), f"Short-Name: {art.id}\n")
        return Built.of(target)
    target.write_bytes(text)
    return Built.of(target)


def real_or_standin(out: Path, art: catalogue.Artefact) -> Built:
    builder = catalogue_standins.registry().get((art.component, art.id))
    if builder is not None:  # the tool's own stand-in (tests/standins/<tool>/lab.py)
        return builder(art, out / "standins")
    if art.id == "containerd-static-linux-amd64":
        return containerd_static(out / "real", art.version)
    if art.id == "runc-linux-amd64":
        return runc_binary(out / "real")
    if art.id == "helm-linux-amd64":
        return helm_archive(out / "real", art.version)
    if (art.component, art.id) in VENDORED_CHARTS:
        return vendored_chart(out / "real", art.component, art.id, art.version)
    return _standin_file(out, art)


# ------------------------------------------------------------------------------- images


def oci_image_layout(out: Path, label: str) -> Path:
    """A one-layer linux/amd64 image (a text file) as an OCI layout, made without any daemon."""
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}", len(data)

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = f"stand-in image {label}\n".encode()
        info = tarfile.TarInfo("STANDIN")
        info.size, info.mtime = len(data), 1_700_000_000
        tar.addfile(info, io.BytesIO(data))
    layer = raw.getvalue()
    layer_digest, layer_size = blob(layer)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"dockyard.standin": label}},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }
    config_digest, config_size = blob(json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_size,
        },
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}],
    }
    manifest_digest, manifest_size = blob(json.dumps(manifest, sort_keys=True).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
             "size": manifest_size, "annotations": {"org.opencontainers.image.ref.name": "latest"}}
        ],
    }  # fmt: skip
    (out / "index.json").write_text(json.dumps(index))
    (out / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Registry:
    """Debian's docker-registry (distribution 2.8) on 127.0.0.1, storage in ``root``: plain HTTP, or
    HTTPS with ``tls`` = (certificate, key)."""

    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    tls: tuple[Path, Path] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Registry:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(
            "version: 0.1\nlog: {level: error}\n"
            f"storage: {{filesystem: {{rootdirectory: {self.root / 'data'}}}, delete: {{enabled: true}}}}\n"
            f"http: {{addr: '{self.address}'"
            + (f", tls: {{certificate: {self.tls[0]}, key: {self.tls[1]}}}" if self.tls else "")
            + "}\n"
        )
        self.proc = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("docker-registry did not start listening")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def registries_conf(self, path: Path) -> Path:
        """A containers-registries.conf(5) marking this registry plain HTTP (CONTAINERS_REGISTRIES_CONF)."""
        path.write_text(f'[[registry]]\nlocation = "{self.address}"\ninsecure = true\n')
        return path

    def push(self, layout: Path, repository: str, tag: str) -> str:
        """Push an OCI layout's image as ``repository:tag``; returns its registry digest."""
        dest = f"{self.address}/{repository}:{tag}"
        subprocess.run(
            ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:latest", f"docker://{dest}"],
            check=True, capture_output=True,
        )  # fmt: skip
        raw = subprocess.run(
            ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{dest}"], check=True, capture_output=True
        ).stdout
        return "sha256:" + hashlib.sha256(raw).hexdigest()


def _image_repository(ref: str) -> tuple[str, str]:
    """``quay.io/argoproj/argocd:v3.4.4`` -> (``quay.io/argoproj/argocd``, ``v3.4.4``): kept under the
    test registry with the upstream registry as first path component (as the mirror keeps it)."""
    name, _, tag = ref.rpartition(":")
    return name, tag


# ------------------------------------------------------------------------------- the whole set


@dataclass
class Published:
    upstream: TestUpstream
    registry: Registry
    overlay: dict[str, Any]  # dockyard_catalogue override: URLs, refs, sha256 of the test artefacts
    artefacts: dict[tuple[str, str], Built]  # (component, id) -> the file the upstream serves
    digests: dict[tuple[str, str], str]  # (component, id) -> image digest in the test registry
    registries_conf: Path  # CONTAINERS_REGISTRIES_CONF: the test registry speaks plain HTTP
    ca_bundle: Path  # REQUESTS_CA_BUNDLE: the CA that issued the upstream's HTTPS certificate


def bundled_artefacts(cat: dict[str, Any] | None = None) -> list[catalogue.Artefact]:
    """Every artefact of a catalogue (default: the product's) a bundle can carry, for amd64 hosts."""
    cat = cat if cat is not None else catalogue.product()
    found = []
    for name, comp in cat.items():
        for art_id in comp.get("artefacts") or {}:
            art = catalogue.artefact(cat, name, art_id)
            if art.kind in catalogue.BUNDLED_KINDS and art.arch in (None, "amd64", "all"):
                found.append(art)
    return found


def build_all(work: Path) -> tuple[dict[tuple[str, str], Built], dict[tuple[str, str], Path]]:
    """Build every file artefact and every image layout (slow part; once per session)."""
    files: dict[tuple[str, str], Built] = {}
    layouts: dict[tuple[str, str], Path] = {}
    for art in bundled_artefacts():
        key = (art.component, art.id)
        if art.kind == "image":
            layouts[key] = oci_image_layout(work / "images" / f"{art.component}-{art.id}", f"{art.component}/{art.id}")
        else:
            files[key] = real_or_standin(work / "artefacts", art)
    return files, layouts


@contextmanager
def serve(work: Path, files: dict[tuple[str, str], Built], layouts: dict[tuple[str, str], Path]) -> Iterator[Published]:
    """Start the test upstream and registry, publish everything, yield the overlay; stop both after."""
    ca, _new = pki.load_or_create_ca(work / "ca", "Dockyard test upstream CA")
    cert_pem, key_pem = ca.sign(pki.CertRequest("test-upstream", ("localhost",), ("127.0.0.1",)))
    (work / "tls").mkdir(exist_ok=True)
    cert, key = work / "tls" / "upstream.crt", work / "tls" / "upstream.key"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    upstream = TestUpstream(work / "upstream", cert, key).start()
    registry = Registry(work / "registry").start()
    try:
        arts = {(a.component, a.id): a for a in bundled_artefacts()}
        for key, built in files.items():
            art = arts[key]
            assert art.url is not None
            upstream.publish(art.component, art.id, art.url, built)
        overlay = upstream.overlay()
        digests: dict[tuple[str, str], str] = {}
        for key, layout in layouts.items():
            art = arts[key]
            assert art.ref is not None
            name, tag = _image_repository(art.ref)
            digest = registry.push(layout, name, tag)
            digests[key] = digest
            overlay.setdefault(art.component, {"artefacts": {}})["artefacts"][art.id] = {
                "ref": f"{registry.address}/{name}:{tag}",
                "sha256": digest.removeprefix("sha256:"),
                "sha256_source": "stand-in image built by the tests, pushed to the test registry",
            }
        conf = registry.registries_conf(work / "registries.conf")
        yield Published(upstream, registry, overlay, files, digests, conf, ca.cert_path)
    finally:
        upstream.stop()
        registry.stop()


# ------------------------------------------------------------------------------- pytest fixtures
# Imported by tests/integration/conftest.py; built once per test session.


@pytest.fixture(scope="session")
def airgap_artefacts(
    tmp_path_factory: pytest.TempPathFactory, test_image: str
) -> tuple[Path, dict[Any, Built], dict[Any, Path]]:
    """Every bundled artefact built once: (work folder, files by (component, id), image layouts).
    Harbor's stand-in builds its images from the lab's base image (DOCKYARD_TEST_IMAGE)."""
    os.environ.setdefault("DOCKYARD_TEST_IMAGE", test_image)
    work = tmp_path_factory.mktemp("airgap-artefacts")
    files, layouts = build_all(work)
    return work, files, layouts


@pytest.fixture(scope="session")
def airgap_upstreams(airgap_artefacts: tuple[Path, dict[Any, Built], dict[Any, Path]]) -> Iterator[Published]:
    """The HTTPS test upstream and the test registry serving them, with the catalogue overlay."""
    work, files, layouts = airgap_artefacts
    with serve(work, files, layouts) as pub:
        yield pub

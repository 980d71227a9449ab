"""`invoke bundle.build` / `bundle.verify` end to end: real HTTP (the test upstream on 127.0.0.1),
a real registry (Debian's docker-registry), real skopeo; no internet. The artefacts are built by
tests/standins/airgap_upstream.py (real containerd, runc, helm and the argo-cd chart in their
upstream layout; small stand-ins for the rest), pointed at by a test catalogue overlay."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard.bundle import manifest as m
from tests.cli_runner import INVOKE, ROOT, invoke
from tests.standins import airgap_upstream as au

# skopeo and docker-registry come from scripts/setup.sh; without them these tests fail (never skip).

CONTAINERD = ("containerd", "containerd-static-linux-amd64")
HELM = ("helm", "helm-linux-amd64")


@pytest.fixture
def published(airgap_upstreams: au.Published) -> au.Published:
    return airgap_upstreams


@pytest.fixture
def site(published: au.Published, sample_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The sample inventories with the test overlay, a builder key, and its public key trusted."""
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(published.registries_conf))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(published.ca_bundle))
    key = tmp_path / "builder.key"
    proc = invoke("bundle.keygen", "--key", str(key))
    assert proc.returncode == 0, proc.stderr
    public = key.with_name("builder.key.pub").read_text().strip()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert "PRIVATE" not in proc.stdout
    assert f"dockyard_bundle_public_key: {public}" in proc.stdout
    published.upstream.faults.errors.clear()
    published.upstream.faults.cut_after.clear()
    published.upstream.faults.slow.clear()
    write_overlay(sample_tree, published.overlay)
    (sample_tree / "platform" / "group_vars" / "all" / "bundle.yml").write_text(
        yaml.safe_dump({"dockyard_bundle_public_key": public})
    )
    return {"tree": sample_tree, "key": key, "pub": key.with_name("builder.key.pub"), "up": published.upstream}


def write_overlay(tree: Path, overlay: dict[str, Any]) -> None:
    path = tree / "platform" / "group_vars" / "all" / "versions.yml"
    path.write_text(yaml.safe_dump({"dockyard_catalogue": overlay}))


def build(site: dict[str, Any], out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return invoke(
        "bundle.build", "--out", str(out), "--key", str(site["key"]), "--inventories", str(site["tree"]), *args,
        timeout=600,
    )  # fmt: skip


def verify(site: dict[str, Any], bundle: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return invoke("bundle.verify", str(bundle), "--inventories", str(site["tree"]), *args)


def url_path(pub: au.Published, key: tuple[str, str]) -> str:
    url = pub.overlay[key[0]]["artefacts"][key[1]]["url"]
    return "/" + url.split("/", 3)[3]


def test_build_all_verify_and_rerun_downloads_nothing(site: dict[str, Any], published: au.Published, tmp_path: Path):
    out = tmp_path / "bundle"
    proc = build(site, out, "--env", "all")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "bundle build OK" in proc.stdout
    mf = m.read(out)
    assert mf.envs == ("dev", "prod", "stage")
    assert mf.architectures == ("amd64",)
    kinds = {f.kind for f in mf.files}
    assert kinds == {"file", "deb", "chart", "jenkins-plugin"}
    assert not any(f.arch == "arm64" for f in mf.files)
    assert len(mf.images) == len(published.digests)
    # the real containerd archive, in the layout the mirror serves, with its own sha256
    entry = next(f for f in mf.files if (f.component, f.id) == CONTAINERD)
    assert entry.path.endswith(
        "github.com/containerd/containerd/releases/download/v2.2.1/containerd-static-2.2.1-linux-amd64.tar.gz"
    )
    assert entry.sha256 == published.artefacts[CONTAINERD].sha256
    tar = subprocess.run(["tar", "-tzf", str(out / entry.path)], capture_output=True, text=True, check=True)
    assert "bin/containerd" in tar.stdout.split()
    # images by digest, unchanged, in one OCI layout
    for image in mf.images:
        assert image.digest == published.digests[(image.component, image.id)]
        assert (out / "images" / "blobs" / "sha256" / image.digest.removeprefix("sha256:")).is_file()
    ok = verify(site, out)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("bundle verify OK") and len(ok.stdout.strip().splitlines()) == 1

    before = len(site["up"].hits_for(""))
    signed = (out / m.MANIFEST).read_bytes(), (out / m.SIGNATURE).read_bytes()
    again = build(site, out, "--env", "all")
    assert again.returncode == 0, again.stderr
    assert "nothing downloaded: every artefact was already present and verified" in again.stdout
    assert "manifest unchanged" in again.stdout
    assert ((out / m.MANIFEST).read_bytes(), (out / m.SIGNATURE).read_bytes()) == signed
    assert len(site["up"].hits_for("")) == before  # not one request to the upstream
    assert verify(site, out).returncode == 0


def test_build_killed_mid_download_resumes_with_range(site: dict[str, Any], published: au.Published, tmp_path: Path):
    out = tmp_path / "bundle"
    path = url_path(published, CONTAINERD)
    site["up"].faults.slow[path] = 0.02  # ~3 MiB/s, so the build can be killed mid-file
    cmd = [INVOKE, "-r", str(ROOT), "bundle.build", "--out", str(out), "--key", str(site["key"]),
           "--inventories", str(site["tree"]), "--only", "containerd"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    partial = out / ".partial"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        sizes = [p.stat().st_size for p in partial.glob("*")] if partial.is_dir() else []
        if sizes and max(sizes) > 2 << 20:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    have = max(p.stat().st_size for p in partial.glob("*"))
    assert 0 < have < published.artefacts[CONTAINERD].size
    assert not (out / m.MANIFEST).exists()
    site["up"].faults.slow.clear()
    again = build(site, out, "--only", "containerd")
    assert again.returncode == 0, again.stdout + again.stderr
    resumed = [h for h in site["up"].hits_for(path) if h.range]
    assert resumed and resumed[-1].status == 206
    assert int(resumed[-1].range.removeprefix("bytes=").rstrip("-")) >= have
    assert not partial.exists()
    assert verify(site, out).returncode == 0


def test_500s_and_cut_connections_are_retried(site: dict[str, Any], published: au.Published, tmp_path: Path):
    helm, cd = url_path(published, HELM), url_path(published, CONTAINERD)
    site["up"].faults.errors[helm] = 2
    site["up"].faults.cut_after[cd] = (1 << 20, 1)
    proc = build(site, tmp_path / "b", "--only", "helm,containerd")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [h.status for h in site["up"].hits_for(helm)][-3:] == [500, 500, 200]
    assert "HTTP 500; retrying" in proc.stdout
    cd_hits = site["up"].hits_for(cd)
    assert cd_hits[-1].status == 206 and cd_hits[-1].range == f"bytes={1 << 20}-"
    assert verify(site, tmp_path / "b").returncode == 0


def test_checksum_mismatch_is_refused_and_nothing_kept(site: dict[str, Any], published: au.Published, tmp_path: Path):
    overlay = yaml.safe_load(yaml.safe_dump(published.overlay))
    overlay["helm"]["artefacts"]["helm-linux-amd64"]["sha256"] = "1" * 64
    write_overlay(site["tree"], overlay)
    out = tmp_path / "b"
    proc = build(site, out, "--only", "helm")
    assert proc.returncode == 1
    assert (
        f"helm/helm-linux-amd64: sha256 mismatch for {overlay['helm']['artefacts']['helm-linux-amd64']['url']}: "
        f"expected {'1' * 64}, received {published.artefacts[HELM].sha256}" in proc.stderr
    )
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not list((out / "files").rglob("*.tar.gz")) if (out / "files").exists() else True
    assert not list((out / ".partial").glob("*"))
    assert not (out / m.MANIFEST).exists()


def test_delta_bundle_holds_only_what_changed(site: dict[str, Any], published: au.Published, tmp_path: Path):
    base = tmp_path / "base"
    assert build(site, base, "--only", "helm,runc,pause_image").returncode == 0
    new = tmp_path / "helm-v9.9.9-linux-amd64.tar.gz"
    new.write_bytes(b"a new helm release (stand-in)\n")
    sha = hashlib.sha256(new.read_bytes()).hexdigest()
    site["up"].publish(
        "helm", "helm-linux-amd64", "https://get.helm.sh/helm-v9.9.9-linux-amd64.tar.gz", au.Built.of(new)
    )
    overlay = yaml.safe_load(yaml.safe_dump(published.overlay))
    overlay["helm"]["artefacts"]["helm-linux-amd64"].update(
        url=site["up"].url_for("https://get.helm.sh/helm-v9.9.9-linux-amd64.tar.gz"), sha256=sha
    )
    write_overlay(site["tree"], overlay)
    delta = tmp_path / "delta"
    proc = build(site, delta, "--only", "helm,runc,pause_image", "--since", str(base / m.MANIFEST))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 artefact(s) unchanged since the base bundle" in proc.stdout
    mf = m.read(delta)
    assert [(f.id, f.sha256) for f in mf.files] == [("helm-linux-amd64", sha)]
    assert mf.images == ()
    assert mf.base_manifest_sha256 == hashlib.sha256((base / m.MANIFEST).read_bytes()).hexdigest()
    assert verify(site, delta).returncode == 0


def test_split_parts_verify_as_built_as_carried_and_joined(site: dict[str, Any], tmp_path: Path):
    from dockyard.bundle import split  # noqa: PLC0415

    out = tmp_path / "b"
    proc = build(site, out, "--only", "containerd,helm,pause_image", "--split", "8M")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    mf = m.read(out)
    assert mf.split is not None and len(mf.split.parts) >= 3
    assert all(p.size <= 8 << 20 for p in mf.split.parts)
    for p in mf.split.parts:
        assert hashlib.sha256((out / p.path).read_bytes()).hexdigest() == p.sha256
    assert verify(site, out).returncode == 0
    carried = tmp_path / "carried"
    (carried / "parts").mkdir(parents=True)
    for name in (m.MANIFEST, m.SIGNATURE):
        shutil.copy(out / name, carried / name)
    for p in mf.split.parts:
        shutil.copy(out / p.path, carried / p.path)
    assert verify(site, carried).returncode == 0
    joined = tmp_path / "joined"
    count = split.join(carried, joined, m.parse_public_key(site["pub"].read_text(), "pub"))
    assert count == len(mf.payload())
    assert verify(site, joined).returncode == 0
    # a damaged part is named
    part = carried / mf.split.parts[1].path
    part.write_bytes(part.read_bytes()[:-1])
    bad = verify(site, carried)
    assert bad.returncode == 1 and f"{mf.split.parts[1].path}: altered (size" in bad.stderr


@pytest.fixture
def small_bundle(site: dict[str, Any], tmp_path: Path) -> Path:
    out = tmp_path / "small"
    proc = build(site, out, "--only", "helm,jenkins_plugins,pause_image")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def _fails(proc: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.startswith("bundle verify FAILED")
    for text in expected:
        assert text in proc.stderr, proc.stderr


def test_verify_tamper_cases(site: dict[str, Any], small_bundle: Path, tmp_path: Path):
    mf = m.read(small_bundle)
    helm = next(f for f in mf.files if f.component == "helm")
    plugin = next(f for f in mf.files if f.kind == "jenkins-plugin")

    def copy() -> Path:
        dest = tmp_path / f"copy{len(list(tmp_path.glob('copy*')))}"
        shutil.copytree(small_bundle, dest)
        return dest

    flipped = copy()
    data = bytearray((flipped / helm.path).read_bytes())
    data[len(data) // 2] ^= 0x01
    (flipped / helm.path).write_bytes(bytes(data))
    _fails(verify(site, flipped), f"{helm.path}: altered (sha256 ")

    deleted = copy()
    (deleted / plugin.path).unlink()
    _fails(verify(site, deleted), f"{plugin.path}: missing")

    blob = next(f for f in mf.oci_layout if "/blobs/" in f.path)
    both = copy()
    (both / blob.path).unlink()
    (both / "files" / "evil.sh").write_text("#!/bin/sh\n")
    _fails(verify(site, both), f"{blob.path}: missing", "files/evil.sh: extra (not in the manifest)")

    unsigned = copy()
    (unsigned / m.SIGNATURE).unlink()
    _fails(verify(site, unsigned), "manifest.yaml.sig: missing: the manifest is unsigned")

    foreign = copy()
    other = tmp_path / "other.key"
    assert invoke("bundle.keygen", "--key", str(other)).returncode == 0
    key = m.load_private_key(other)
    (foreign / m.SIGNATURE).write_bytes(m.sign((foreign / m.MANIFEST).read_bytes(), key))
    _fails(verify(site, foreign), "does not verify with dockyard_bundle_public_key")

    edited = copy()
    text = (edited / m.MANIFEST).read_text().replace(helm.sha256, "0" * 64)
    (edited / m.MANIFEST).write_text(text)
    _fails(verify(site, edited), "does not verify", f"{helm.path}: altered (sha256 {helm.sha256}")

    truncated = copy()
    (truncated / m.MANIFEST).write_bytes((truncated / m.MANIFEST).read_bytes()[:300])
    _fails(verify(site, truncated), "does not verify")

    empty = tmp_path / "empty"
    empty.mkdir()
    _fails(verify(site, empty), "manifest.yaml: missing (empty directory)")

    # the same trusted key given as a file
    assert verify(site, small_bundle, "--public-key", str(site["pub"])).returncode == 0


def test_unknown_pins_refused_unless_pinned_on_first_use(site: dict[str, Any], published: au.Published, tmp_path: Path):
    overlay = yaml.safe_load(yaml.safe_dump(published.overlay))
    overlay["helm"]["artefacts"]["helm-linux-amd64"]["sha256"] = "unknown"
    overlay["helm"]["artefacts"]["helm-linux-amd64"]["unknown_reason"] = "test: no published hash"
    overlay["pause_image"]["artefacts"]["pause"]["sha256"] = "unknown"
    overlay["pause_image"]["artefacts"]["pause"]["unknown_reason"] = "test: no published digest"
    write_overlay(site["tree"], overlay)
    out = tmp_path / "b"
    refused = build(site, out, "--only", "helm,pause_image")
    assert refused.returncode == 2
    assert "helm.artefacts.helm-linux-amd64, pause_image.artefacts.pause" in refused.stderr
    assert "--pin-unknown FILE" in refused.stderr
    assert not out.exists()
    pins = tmp_path / "pins.yml"
    proc = build(site, out, "--only", "helm,pause_image", "--pin-unknown", str(pins))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING: TRUST-ON-FIRST-USE pins for 2 artefact(s)" in proc.stderr
    written = yaml.safe_load(pins.read_text())["dockyard_catalogue"]
    assert written["helm"]["artefacts"]["helm-linux-amd64"]["sha256"] == published.artefacts[HELM].sha256
    pause_digest = published.digests[("pause_image", "pause")]
    assert written["pause_image"]["artefacts"]["pause"]["sha256"] == pause_digest.removeprefix("sha256:")
    mf = m.read(out)
    assert {f.pin for f in mf.files} == {m.PIN_TOFU}
    assert mf.images[0].pin == m.PIN_TOFU and mf.images[0].digest == pause_digest


def test_progress_is_plain_lines_without_a_tty(site: dict[str, Any], tmp_path: Path):
    proc = build(site, tmp_path / "b", "--only", "runc")
    assert proc.returncode == 0
    assert "\r" not in proc.stdout
    assert "[1/1] fetched runc/runc-linux-amd64" in proc.stdout
    assert "MiB/s, ETA" in proc.stdout or "KiB/s, ETA" in proc.stdout

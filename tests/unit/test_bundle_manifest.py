"""The bundle manifest format: round trip, signatures, damaged input as one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dockyard.bundle import manifest as m
from dockyard.problems import InvalidInput


def _sample() -> m.Manifest:
    return m.Manifest(
        dockyard_version="0.1.0",
        created="2026-12-02T03:00:00Z",
        envs=("dev",),
        architectures=("amd64",),
        files=(
            m.FileEntry(
                "files/get.helm.sh/helm-v3.20.0-linux-amd64.tar.gz",
                10,
                "ab" * 32,
                "file",
                "helm",
                "helm-linux-amd64",
                "3.20.0",
                "https://get.helm.sh/helm-v3.20.0-linux-amd64.tar.gz",
                "amd64",
            ),
        ),
        images=(
            m.ImageEntry(
                "pause_image",
                "pause",
                "3.10.1",
                "registry.k8s.io/pause:3.10.1",
                "sha256:" + "cd" * 32,
                "registry.k8s.io/pause:3.10.1",
            ),
        ),
        oci_layout=(m.LayoutFile("images/index.json", 3, "ef" * 32),),
        base_manifest_sha256="01" * 32,
        split=m.Split(100, "tar", (m.LayoutFile("parts/bundle.tar.000", 100, "02" * 32),)),
    )


def test_round_trip_and_signature(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    data = m.write(tmp_path, _sample(), key)
    assert m.read(tmp_path) == _sample()
    assert m.check_signature(tmp_path, key.public_key()) is None
    other = Ed25519PrivateKey.generate().public_key()
    assert "another builder" in (m.check_signature(tmp_path, other) or "")
    (tmp_path / m.MANIFEST).write_bytes(data.replace(b"0.1.0", b"0.1.1"))
    assert m.check_signature(tmp_path, key.public_key()) is not None
    (tmp_path / m.SIGNATURE).unlink()
    assert "unsigned" in (m.check_signature(tmp_path, key.public_key()) or "")


def test_public_key_line_round_trip() -> None:
    key = Ed25519PrivateKey.generate()
    line = m.public_key_text(key.public_key())
    assert line.startswith("ssh-ed25519 ")
    assert m.public_key_text(m.parse_public_key(line, "x")) == line
    with pytest.raises(InvalidInput, match="not an Ed25519 public key"):
        m.parse_public_key("ssh-ed25519 garbage", "inventory: dockyard_bundle_public_key")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a bundle manifest"),
        (b"format: [", "not valid YAML"),
        (b"format: other/v9\n", "is not dockyard-bundle/v1"),
        (b"format: dockyard-bundle/v1\ncreated: x\n", "malformed entry"),
        (b"format: dockyard-bundle/v1\ndockyard_version: 1\ncreated: x\nfiles: [{path: a}]\n", "malformed entry"),
    ],
)
def test_damaged_manifest_is_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / m.MANIFEST).write_bytes(content)
    with pytest.raises(InvalidInput, match=message):
        m.read(tmp_path)

"""Bundle pieces without a network: sizes, what a bundle selects, progress lines, verify on disk."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dockyard import catalogue
from dockyard.bundle import manifest as m
from dockyard.bundle import selection, split, verify
from dockyard.bundle.hashing import file_sha256
from dockyard.bundle.progress import Progress
from dockyard.problems import InvalidInput


@pytest.mark.parametrize(
    ("text", "size"), [("4G", 4 << 30), ("700M", 700 << 20), ("1.5GiB", 3 << 29), ("2097152", 2 << 20)]
)
def test_split_sizes(text: str, size: int) -> None:
    assert split.parse_size(text) == size


@pytest.mark.parametrize("text", ["four", "10K", "-1G"])
def test_bad_split_size_is_one_clear_error(text: str) -> None:
    with pytest.raises(InvalidInput, match="--split"):
        split.parse_size(text)


def _scope(arches: set[str], external: set[str] = frozenset()) -> selection.Scope:  # type: ignore[assignment]
    return selection.Scope("dev", frozenset(selection.PHASE_NAMES), frozenset(arches), frozenset(external))


def test_selection_by_architecture_kind_and_external_tools() -> None:
    cat = catalogue.product()
    amd = {(a.component, a.id) for a in selection.artefacts(cat, _scope({"amd64"}))}
    assert ("containerd", "containerd-static-linux-amd64") in amd
    assert ("containerd", "containerd-static-linux-arm64") not in amd
    assert ("jenkins", "jenkins-deb") in amd  # arch "all": every architecture's hosts install it
    assert not any(c == "debian_packages" for c, _ in amd)  # os-package: the site's OS mirror
    both = {(a.component, a.id) for a in selection.artefacts(cat, _scope({"amd64", "arm64"}))}
    assert ("containerd", "containerd-static-linux-arm64") in both
    no_jenkins = {a.component for a in selection.artefacts(cat, _scope({"amd64"}, {"jenkins"}))}
    assert "jenkins" not in no_jenkins and "jenkins_plugins" not in no_jenkins and "gitlab" in no_jenkins
    only = selection.artefacts(cat, _scope({"amd64"}), ["helm"])
    assert [a.id for a in only] == ["helm-linux-amd64"]
    with pytest.raises(InvalidInput, match="--only: nope: not in the catalogue"):
        selection.artefacts(cat, _scope({"amd64"}), ["nope"])


def test_progress_without_tty_is_plain_lines() -> None:
    out = io.StringIO()
    p = Progress(2, out, tty=False)
    p.begin("a/x", 100, 0)
    p.advance("a/x", 100)
    p.finish("a/x", "fetched a/x")
    assert out.getvalue().startswith("[1/2] fetched a/x; total 100 B/100 B")
    assert "\r" not in out.getvalue()


def _bundle(tmp_path: Path) -> tuple[Path, Any]:
    key = Ed25519PrivateKey.generate()
    entries = []
    for i in range(3):
        rel = f"files/example.org/f{i}"
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(bytes([i]) * (5000 + i))
        entries.append(m.FileEntry(rel, 5000 + i, file_sha256(tmp_path / rel), "file", "c", f"f{i}", "1", "https://x"))
    mf = m.Manifest("0", "now", ("dev",), ("amd64",), files=tuple(entries))
    m.write(tmp_path, mf, key)
    return tmp_path, key


def test_verify_reports_every_problem_by_path(tmp_path: Path) -> None:
    bundle, key = _bundle(tmp_path)
    assert verify.verify(bundle, key.public_key()).ok
    (bundle / "files/example.org/f0").write_bytes(b"\0" * 5000 + b"!")
    (bundle / "files/example.org/f1").unlink()
    (bundle / "files/example.org/f2").write_bytes(b"\3" * 5002)
    (bundle / "files/extra").write_text("x")
    problems = verify.verify(bundle, key.public_key()).problems
    assert problems == [
        "files/example.org/f1: missing",
        "files/extra: extra (not in the manifest)",
        "files/example.org/f0: altered (size 5001, manifest says 5000)",
        f"files/example.org/f2: altered (sha256 {file_sha256(bundle / 'files/example.org/f2')}, manifest says "
        f"{m.read(bundle).files[2].sha256})",
    ]


def test_split_and_join_round_trip(tmp_path: Path) -> None:
    bundle, key = _bundle(tmp_path / "b")
    mf = m.read(bundle)
    parts = split.write_parts(bundle, mf.payload(), 1 << 20)
    assert [p.path for p in parts.parts] == ["parts/bundle.tar.000"]
    m.write(bundle, dataclasses.replace(mf, split=parts), key)
    assert split.join(bundle, tmp_path / "j", key.public_key()) == 3
    assert (tmp_path / "j/files/example.org/f2").read_bytes() == (bundle / "files/example.org/f2").read_bytes()


@pytest.mark.parametrize(
    ("value", "words"),
    [("ssh-rsa AAAAB3NzaC1yc2E", "is not valid"), ("ssh-ed25519 AAAAnotakey", "is not an Ed25519 public key")],
)
def test_bundle_public_key_is_validated(edit_spec: Callable[..., Path], value: str, words: str) -> None:
    from dockyard import inventory  # noqa: PLC0415
    from dockyard.problems import SpecInvalid  # noqa: PLC0415
    from dockyard.spec.validate import validate  # noqa: PLC0415

    def load(tree: Path) -> Any:
        return validate(inventory.load(inventory.InventoryTree(tree), "dev"))

    tree = edit_spec(lambda spec: spec.update(dockyard_bundle_public_key=value))
    with pytest.raises(SpecInvalid) as caught:
        load(tree)
    assert any(": dockyard_bundle_public_key: " in line and words in line for line in caught.value.lines())
    good = m.public_key_text(Ed25519PrivateKey.generate().public_key())
    assert load(edit_spec(lambda spec: spec.update(dockyard_bundle_public_key=good)))


def test_every_task_of_tasks_py_is_in_the_namespace() -> None:
    import importlib.util  # noqa: PLC0415

    from invoke import Task  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location("dockyard_tasks", Path(__file__).resolve().parents[2] / "tasks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ns = module.ns
    defined = {obj.name for obj in vars(module).values() if isinstance(obj, Task)}
    listed = set(ns.tasks) | {f"bundle.{n}" for n in ns.collections["bundle"].tasks}
    assert {"bundle.build", "bundle.keygen", "bundle.verify", "validate", "bootstrap"} <= listed
    assert len(listed) == len(defined)

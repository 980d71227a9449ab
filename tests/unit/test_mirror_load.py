"""bundle load's decisions without a mirror: what is skipped, what is sent, when a delta is refused.
The transport (ssh, rsync, reprepro, skopeo) is replaced by a recorder here; the Molecule scenario
runs the real tools on the mirror."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.bundle import manifest as m
from dockyard.mirror import load
from dockyard.mirror.htpasswd import line
from dockyard.problems import InvalidInput


class Recorder:
    name = "mirror-1"

    def __init__(self) -> None:
        self.scripts: list[str] = []
        self.sent: list[list[str]] = []

    def run(self, script: str, stdin: bytes | None = None, what: str = "") -> str:
        self.scripts.append(script)
        return ""

    def rsync(self, source: Path, paths: list[str], dest: str) -> int:
        self.sent.append(paths)
        return 100 * len(paths)


def _file(path: str, sha: str, kind: str = "file") -> m.FileEntry:
    return m.FileEntry(
        path=path, size=10, sha256=sha, kind=kind, component="c", id=path, version="1", source="https://x/" + path,
        package="pkg" if kind == "deb" else None, os_release="debian-12" if kind == "deb" else None,
    )  # fmt: skip


def _manifest(files: tuple[m.FileEntry, ...], base: str | None = None) -> m.Manifest:
    return m.Manifest(dockyard_version="0", created="now", envs=("dev",), architectures=("amd64",), files=files,
                      base_manifest_sha256=base)  # fmt: skip


def test_first_load_sends_and_records_then_second_load_sends_nothing(tmp_path: Path) -> None:
    files = [_file("files/dl.k8s.io/kubeadm", "a" * 64), _file("files/pkgs/x.deb", "b" * 64, "deb")]
    state = load.State()
    first = load.Run(tmp_path, Recorder(), state, load.Summary())  # type: ignore[arg-type]
    load._load_files(first, files)
    load._load_packages(first, files)
    assert first.target.sent == [[f.path for f in files]]  # type: ignore[attr-defined]
    assert any("sha256sum --check" in s for s in first.target.scripts)  # type: ignore[attr-defined]
    assert any("includedeb debian-12" in s for s in first.target.scripts)  # type: ignore[attr-defined]
    assert (first.summary.files, first.summary.packages, first.summary.skipped) == (2, 1, 0)

    again = load.Run(tmp_path, Recorder(), load.State.parse(state.to_bytes().decode(), "t"), load.Summary())  # type: ignore[arg-type]
    load._load_files(again, files)
    load._load_packages(again, files)
    assert again.target.sent == [] and again.target.scripts == []  # type: ignore[attr-defined]
    assert (again.summary.files, again.summary.packages, again.summary.skipped) == (0, 0, 3)


def test_a_changed_file_is_sent_again(tmp_path: Path) -> None:
    state = load.State(files={"files/h/a": "a" * 64, "files/h/b": "b" * 64})
    run = load.Run(tmp_path, Recorder(), state, load.Summary())  # type: ignore[arg-type]
    load._load_files(run, [_file("files/h/a", "a" * 64), _file("files/h/b", "c" * 64)])
    assert run.target.sent == [["files/h/b"]]  # type: ignore[attr-defined]
    assert state.files["files/h/b"] == "c" * 64


def test_a_delta_whose_base_is_not_loaded_is_refused_naming_the_base() -> None:
    delta = _manifest((), base="f" * 64)
    with pytest.raises(InvalidInput, match=f"base manifest sha256 {'f' * 64}.*has not loaded"):
        load.check_base("DIR", delta, load.State(manifests=["e" * 64]), "mirror-1")
    load.check_base("DIR", delta, load.State(manifests=["f" * 64]), "mirror-1")  # its base is there: fine


def test_a_damaged_load_record_is_one_clear_error() -> None:
    with pytest.raises(Exception, match="not a load record"):
        load.State.parse("[1, 2", "mirror:/var/lib/dockyard-mirror/loaded.json")


def test_htpasswd_lines_are_stable_and_verify() -> None:
    import bcrypt  # noqa: PLC0415

    first = line("dockyard-push", "s3cret")
    assert first == line("dockyard-push", "s3cret")
    assert first != line("dockyard-pull", "s3cret")
    assert bcrypt.checkpw(b"s3cret", first.split(":", 1)[1].encode())
    assert not bcrypt.checkpw(b"other", first.split(":", 1)[1].encode())

"""The stand-in kit itself: packages dpkg accepts, tarballs in the given layout, the flag checker,
and the test upstream (Range, injected faults, hit log) over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.standins import standin_lib
from tests.standins.debs import STANDIN_LIB_PATH, build_deb
from tests.standins.tarballs import build_tarball
from tests.standins.upstream import TestUpstream

SPEC = {
    "*global*": {"flags": {"-v": True}},
    "init": {"flags": {"--config": True, "--upload-certs": False}},
    "init phase upload-certs": {"flags": {"--upload-certs": False}},
    "version": {"flags": {"-o": True}},
    "reset": {"flags": {"-f": False}, "args": (0, 0)},
}


def test_build_deb_is_a_real_package(tmp_path: Path) -> None:
    built = build_deb(tmp_path, "demo-tool", "1.2.3-1", "amd64", {"/usr/bin/demo": (b"#!/bin/sh\necho hi\n", 0o755)})
    assert built.path.name == "demo-tool_1.2.3-1_amd64.deb" and len(built.sha256) == 64
    info = subprocess.run(["dpkg-deb", "-f", str(built.path)], capture_output=True, text=True, check=True).stdout
    assert "Package: demo-tool" in info and "STAND-IN" in info and "Depends: python3" in info
    listing = subprocess.run(["dpkg-deb", "-c", str(built.path)], capture_output=True, text=True, check=True).stdout
    assert "./usr/bin/demo" in listing and "." + STANDIN_LIB_PATH in listing
    assert "-rwxr-xr-x root/root" in next(line for line in listing.splitlines() if line.endswith("usr/bin/demo"))


def test_tarball_layout_is_deterministic(tmp_path: Path) -> None:
    files = {"bin/containerd": (b"x", 0o755), "README": b"r"}
    a = build_tarball(tmp_path / "a.tar.gz", None, files)
    b = build_tarball(tmp_path / "b.tar.gz", None, files)
    assert a.sha256 == b.sha256
    with tarfile.open(a.path) as tar:
        assert sorted(tar.getnames()) == ["README", "bin", "bin/containerd"]
    with tarfile.open(build_tarball(tmp_path / "c.tgz", "harbor", files).path) as tar:
        assert all(n == "harbor" or n.startswith("harbor/") for n in tar.getnames())


def _run_lib(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    code = (
        f"import sys; sys.path.insert(0, {str(Path(standin_lib.__file__).parent)!r}); import standin_lib as s; "
        f"c = s.parse('kubeadm', sys.argv[1:], {SPEC!r}); print(c.subcommand, sorted(c.flags.items()), c.args)"
    )
    env = {**os.environ, "DOCKYARD_STANDIN_LOG": str(tmp_path / "calls.jsonl")}
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, check=False)


def test_flag_checker_accepts_documented_calls_and_records_them(tmp_path: Path) -> None:
    ok = _run_lib(tmp_path, "init", "phase", "upload-certs", "--upload-certs", "-v", "5")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("init phase upload-certs [('--upload-certs', True), ('-v', '5')]")
    assert _run_lib(tmp_path, "init", "--config=/etc/k.yaml").returncode == 0
    calls = standin_lib.read_calls((tmp_path / "calls.jsonl").read_text())
    assert [c["argv"][0] for c in calls] == ["init", "init"] and calls[1]["argv"] == ["init", "--config=/etc/k.yaml"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["join", "x"], "subcommand"),
        (["init", "--skip-phases", "x"], "flag --skip-phases"),
        (["init", "--config"], "without a value"),
        (["reset", "extra"], "argument"),
        (["init", "--upload-certs=maybe"], "flag --upload-certs=maybe"),
    ],
)
def test_flag_checker_refuses_what_is_not_documented(tmp_path: Path, argv: list[str], says: str) -> None:
    proc = _run_lib(tmp_path, *argv)
    assert proc.returncode == 2
    assert proc.stderr.startswith("stand-in: unsupported") and says in proc.stderr, proc.stderr


def test_upstream_serves_ranges_faults_and_logs_hits(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1024
    blob = tmp_path / "blob.bin"
    blob.write_bytes(payload)
    from tests.standins.built import Built  # noqa: PLC0415

    with TestUpstream(tmp_path / "www", None, None) as up:
        pub = up.publish("demo", "blob", "https://dl.example.org/r/v1/blob.bin", Built.of(blob))
        url = up.url_for(pub.upstream_url)
        assert url.endswith("/dl.example.org/r/v1/blob.bin")
        assert urllib.request.urlopen(url, timeout=5).read() == payload  # noqa: S310 (loopback test server)
        req = urllib.request.Request(url, headers={"Range": "bytes=1000-"})  # noqa: S310
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
            assert resp.status == 206 and resp.read() == payload[1000:]
        up.faults.errors["/dl.example.org/r/v1/blob.bin"] = 1
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(url, timeout=5)  # noqa: S310
        assert caught.value.code == 500
        up.faults.cut_after["/dl.example.org/r/v1/blob.bin"] = (5000, 1)
        with pytest.raises(Exception):  # noqa: B017 (the connection is cut mid-body: IncompleteRead or reset)
            urllib.request.urlopen(url, timeout=5).read()  # noqa: S310
        assert [h.status for h in up.hits_for("blob.bin")] == [200, 206, 500, 200]
        overlay = up.overlay()
        assert overlay == {
            "demo": {
                "artefacts": {
                    "blob": {
                        "url": url,
                        "sha256": pub.built.sha256,
                        "sha256_source": overlay["demo"]["artefacts"]["blob"]["sha256_source"],
                    }
                }
            }
        }
        assert json.dumps(up.overlay())  # plain data, ready for an inventory file

"""`invoke bench bundle`: `invoke bundle.verify`'s throughput against `sha256sum` on the same files,
in one run. Verify is disk-bound by design: the target is at least 80 % of sha256sum's throughput.

Options: ``files=N`` and ``mib=M`` (a synthetic bundle of N random files of M MiB, signed with a
throwaway key, under .dockyard/bench-bundle/), or ``bundle=DIR`` with ``public_key=FILE`` to measure
an existing bundle; ``rounds=R`` (default 3; the best round of each counts). Both read the files from
the page cache after a warm-up read, so the figures compare hashing, not the disk's first read.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dockyard.bench import benchmark
from dockyard.bundle import manifest as m
from dockyard.bundle import verify
from dockyard.bundle.hashing import file_sha256
from dockyard.bundle.progress import MIB
from dockyard.problems import DockyardError

TARGET = 0.8


def _synthetic(folder: Path, files: int, mib: int) -> tuple[Path, Ed25519PublicKey]:
    shutil.rmtree(folder, ignore_errors=True)
    entries = []
    for i in range(files):
        rel = f"files/bench.example/data/blob-{i:03d}.bin"
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            for _ in range(mib):
                fh.write(os.urandom(MIB))
        entries.append(
            m.FileEntry(
                rel, mib * MIB, file_sha256(path), "file", "bench", f"blob-{i}", "1", f"https://bench.example/{rel}"
            )
        )
    key = Ed25519PrivateKey.generate()
    manifest = m.Manifest(
        dockyard_version="bench",
        created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        envs=("bench",),
        architectures=("amd64",),
        files=tuple(entries),
    )
    m.write(folder, manifest, key)
    return folder, key.public_key()


def _sha256sum(paths: list[Path]) -> float:
    start = time.monotonic()
    subprocess.run(["sha256sum", *map(str, paths)], check=True, capture_output=True)
    return time.monotonic() - start


def _verify(bundle: Path, key: Ed25519PublicKey) -> float:
    start = time.monotonic()
    report = verify.verify(bundle, key)
    seconds = time.monotonic() - start
    if not report.ok:
        raise DockyardError(f"bench bundle: verify failed on {bundle}: {report.problems[0]}")
    return seconds


@benchmark("bundle", "bundle.verify throughput vs sha256sum on the same files (target: >= 80 %)")
def bundle(root: Path, options: dict[str, str]) -> int:
    rounds = int(options.get("rounds", 3))
    if "bundle" in options:
        folder = Path(options["bundle"])
        if "public_key" not in options:
            raise DockyardError("bench bundle: bundle=DIR needs public_key=FILE (the builder's .pub file)")
        key = m.parse_public_key(Path(options["public_key"]).read_text(), options["public_key"])
    else:
        files, mib = int(options.get("files", 16)), int(options.get("mib", 64))
        print(f"writing a synthetic bundle: {files} files x {mib} MiB ...", flush=True)
        folder, key = _synthetic(root / ".dockyard" / "bench-bundle", files, mib)
    try:
        return _measure(folder, key, rounds)
    finally:
        if "bundle" not in options:
            shutil.rmtree(folder, ignore_errors=True)


def _measure(folder: Path, key: Ed25519PublicKey, rounds: int) -> int:
    mf = m.read(folder)
    paths = [folder / f.path for f in verify.expected_files(folder, mf)]
    total = sum(p.stat().st_size for p in paths)
    _sha256sum(paths)  # warm-up: both then read from the page cache
    best_sum = best_verify = float("inf")
    for i in range(rounds):
        s, v = _sha256sum(paths), _verify(folder, key)
        best_sum, best_verify = min(best_sum, s), min(best_verify, v)
        print(
            f"round {i + 1}: sha256sum {total / MIB / s:7.1f} MiB/s ({s:.2f}s)   "
            f"bundle.verify {total / MIB / v:7.1f} MiB/s ({v:.2f}s)",
            flush=True,
        )
    ratio = best_sum / best_verify
    print(
        f"{len(paths)} files, {total / MIB:.0f} MiB, {os.cpu_count()} CPU(s): best sha256sum "
        f"{total / MIB / best_sum:.1f} MiB/s, best bundle.verify {total / MIB / best_verify:.1f} MiB/s: "
        f"verify reaches {100 * ratio:.0f} % of sha256sum (target >= {100 * TARGET:.0f} %: "
        + ("met)" if ratio >= TARGET else "NOT met)")
    )
    return 0 if ratio >= TARGET else 1

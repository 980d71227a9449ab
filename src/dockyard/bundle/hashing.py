"""sha256 of files at disk speed: large reads into one reused buffer (hashlib releases the GIL on
big updates, so several files hash in parallel on a thread pool)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BLOCK = 4 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def hash_many(paths: Iterable[Path], workers: int | None = None) -> dict[Path, str | OSError]:
    """sha256 of each path (or the OSError reading it), in parallel."""
    todo = list(paths)
    workers = workers or min(8, (os.cpu_count() or 2) + 2)

    def one(p: Path) -> str | OSError:
        try:
            return file_sha256(p)
        except OSError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sha256") as pool:
        return dict(zip(todo, pool.map(one, todo), strict=True))

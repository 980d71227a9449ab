"""What a stand-in builder produced: the file, its sha256 and size (for the test catalogue overlay)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Built:
    path: Path
    sha256: str
    size: int

    @classmethod
    def of(cls, path: Path) -> Built:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return cls(path, digest.hexdigest(), path.stat().st_size)

"""Build release tarballs for stand-ins (or real binaries repackaged in the upstream layout)."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Mapping
from pathlib import Path

from tests.standins.built import Built

FileContent = bytes | tuple[bytes, int]


def build_tarball(out_path: Path, top_dir: str | None, files: Mapping[str, FileContent]) -> Built:
    """A gzip tarball of ``files`` ({relative path: bytes or (bytes, mode)}) under ``top_dir`` (or
    at the top level when None, as e.g. containerd's release archive keeps ``bin/``). Entries are
    owned by root with a fixed mtime, so the same input gives the same bytes."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        out_path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        dirs: set[str] = set()
        for rel, value in sorted(files.items()):
            data, mode = value if isinstance(value, tuple) else (value, 0o644)
            name = f"{top_dir}/{rel}" if top_dir else rel
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    tar.addfile(_info(d, 0o755, tarfile.DIRTYPE))
            tar.addfile(_info(name, mode, tarfile.REGTYPE, len(data)), io.BytesIO(data))
    return Built.of(out_path)


def _info(name: str, mode: int, kind: bytes, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = 1_700_000_000
    info.uname = info.gname = "root"
    return info

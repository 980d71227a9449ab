"""``--split SIZE``: the bundle's files/ and images/ as one uncompressed tar, cut into parts of SIZE
bytes (``parts/bundle.tar.000``, ...), each with its own sha256 in the signed manifest. ``join``
puts a split bundle back together, checking every part and every file on the way."""

from __future__ import annotations

import hashlib
import re
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from dockyard.bundle import manifest as m
from dockyard.problems import DockyardError, InvalidInput

PART_NAME = "bundle.tar.{:03d}"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B?)?\s*$", re.I)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
MIN_PART = 1 << 20


def parse_size(text: str) -> int:
    """``4G`` / ``700M`` / ``1.5GiB`` / ``1048576`` -> bytes (binary units)."""
    match = _SIZE.match(str(text))
    if not match:
        raise InvalidInput(f"--split: {text!r} is not a size (use e.g. 4G, 700M or a number of bytes)")
    size = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if size < MIN_PART:
        raise InvalidInput(f"--split: {text!r} is smaller than 1M (parts that small help no one)")
    return size


class _PartWriter:
    """A write-only stream that rotates part files every ``size`` bytes, hashing each."""

    def __init__(self, folder: Path, size: int) -> None:
        self.folder, self.size = folder, size
        self.parts: list[m.LayoutFile] = []
        self._fh: IO[bytes] | None = None
        self._digest = hashlib.sha256()
        self._written = 0

    def _open(self) -> None:
        path = self.folder / PART_NAME.format(len(self.parts))
        self._fh = path.open("wb")
        self._digest = hashlib.sha256()
        self._written = 0

    def _close(self) -> None:
        if self._fh is None:
            return
        self._fh.close()
        path = self.folder / PART_NAME.format(len(self.parts))
        self.parts.append(m.LayoutFile(f"{m.PARTS_DIR}/{path.name}", self._written, self._digest.hexdigest()))
        self._fh = None

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            if self._fh is None:
                self._open()
            room = self.size - self._written
            chunk = view[:room]
            assert self._fh is not None
            self._fh.write(chunk)
            self._digest.update(chunk)
            self._written += len(chunk)
            view = view[len(chunk) :]
            if self._written == self.size:
                self._close()
        return len(data)

    def close(self) -> list[m.LayoutFile]:
        self._close()
        return self.parts


def write_parts(bundle: Path, payload: list[m.LayoutFile], size: int) -> m.Split:
    """Cut the payload files (in manifest order) into parts below ``bundle/parts``."""
    folder = bundle / m.PARTS_DIR
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    writer = _PartWriter(folder, size)
    with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        for entry in payload:
            info = tarfile.TarInfo(entry.path)
            info.size = entry.size
            info.mode = 0o644
            info.mtime = 0
            with (bundle / entry.path).open("rb") as fh:
                tar.addfile(info, fh)
    return m.Split(size=size, archive="tar", parts=tuple(writer.close()))


class _Joined:
    """The parts read one after another as one stream."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths: Iterator[Path] = iter(paths)
        self._fh: IO[bytes] | None = None

    def read(self, n: int = -1) -> bytes:
        while True:
            if self._fh is None:
                nxt = next(self._paths, None)
                if nxt is None:
                    return b""
                self._fh = nxt.open("rb")
            data = self._fh.read(n)
            if data:
                return data
            self._fh.close()
            self._fh = None


def join(bundle: Path, dest: Path, public_key: object) -> int:
    """Rebuild the bundle's files/ and images/ in ``dest`` from its parts; returns the file count.

    The signature and every part are checked first; every extracted file is checked against the
    manifest before it is kept. ``public_key`` is an Ed25519PublicKey."""
    from dockyard.bundle.hashing import file_sha256  # noqa: PLC0415

    problem = m.check_signature(bundle, public_key)  # type: ignore[arg-type]
    if problem:
        raise InvalidInput(f"{bundle}: {problem}")
    manifest = m.read(bundle)
    if manifest.split is None:
        raise InvalidInput(f"{bundle}/{m.MANIFEST}: not a split bundle (nothing to join)")
    paths = []
    for part in manifest.split.parts:
        path = bundle / part.path
        if not path.is_file() or file_sha256(path) != part.sha256:
            raise DockyardError(f"{path}: missing or altered (sha256 differs from the manifest): copy it again")
        paths.append(path)
    expected = {f.path: f for f in manifest.payload()}
    dest.mkdir(parents=True, exist_ok=True)
    count = 0
    with tarfile.open(fileobj=_Joined(paths), mode="r|") as tar:  # type: ignore[call-overload]
        for info in tar:
            entry = expected.get(info.name)
            if entry is None or not info.isfile():
                raise DockyardError(f"{bundle}: parts hold {info.name!r}, which the manifest does not list")
            target = dest / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            src = tar.extractfile(info)
            assert src is not None
            with target.open("wb") as out:
                while block := src.read(1 << 20):
                    digest.update(block)
                    out.write(block)
            if digest.hexdigest() != entry.sha256:
                target.unlink()
                raise DockyardError(f"{bundle}: {entry.path} in the parts does not match its sha256")
            count += 1
    if count != len(expected):
        raise DockyardError(f"{bundle}: the parts hold {count} of {len(expected)} files")
    if dest.resolve() != bundle.resolve():
        shutil.copyfile(bundle / m.MANIFEST, dest / m.MANIFEST)
        shutil.copyfile(bundle / m.SIGNATURE, dest / m.SIGNATURE)
    return count

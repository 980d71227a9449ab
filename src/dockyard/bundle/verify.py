"""``invoke bundle.verify DIR``: the signature against the site's trusted key, then every file
re-hashed; every missing, extra or altered file reported by path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dockyard.bundle import manifest as m
from dockyard.bundle.hashing import hash_many
from dockyard.problems import InvalidInput


@dataclass(frozen=True)
class Report:
    files: int
    bytes: int
    problems: list[str]
    manifest: m.Manifest | None

    @property
    def ok(self) -> bool:
        return not self.problems


def expected_files(bundle: Path, manifest: m.Manifest) -> list[m.LayoutFile]:
    """What this bundle must hold: its payload, its parts, or both (a split bundle as carried
    holds only the parts; as joined, only the payload; on the builder, both)."""
    if manifest.split is None:
        return manifest.payload()
    has_parts = (bundle / m.PARTS_DIR).exists()
    has_payload = (bundle / m.FILES_DIR).exists() or (bundle / m.IMAGES_DIR).exists()
    expected: list[m.LayoutFile] = []
    if has_parts or not has_payload:
        expected += manifest.split.parts
    if has_payload:
        expected += manifest.payload()
    return expected


def _on_disk(bundle: Path) -> set[str]:
    found = set()
    for path in bundle.rglob("*"):
        if path.is_file() or path.is_symlink():
            found.add(path.relative_to(bundle).as_posix())
    return found - {m.MANIFEST, m.SIGNATURE}


def verify(bundle: Path, public_key: Ed25519PublicKey, workers: int | None = None) -> Report:
    if not bundle.is_dir():
        raise InvalidInput(f"{bundle}: not a directory (give the bundle directory that holds {m.MANIFEST})")
    if not (bundle / m.MANIFEST).is_file():
        found = sorted(_on_disk(bundle))
        what = "empty directory" if not found and not (bundle / m.SIGNATURE).exists() else "no manifest"
        return Report(0, 0, [f"{m.MANIFEST}: missing ({what}): not a bundle, or an incomplete copy"], None)
    problems: list[str] = []
    sig_problem = m.check_signature(bundle, public_key)
    if sig_problem:
        problems.append(sig_problem)
    try:
        manifest = m.read(bundle)
    except InvalidInput as exc:
        return Report(0, 0, [*problems, str(exc)], None)
    expected = {f.path: f for f in expected_files(bundle, manifest)}
    on_disk = _on_disk(bundle)
    for path in sorted(set(expected) - on_disk):
        problems.append(f"{path}: missing")
    for path in sorted(on_disk - set(expected)):
        problems.append(f"{path}: extra (not in the manifest)")
    to_hash = []
    for path in sorted(set(expected) & on_disk):
        full = bundle / path
        if full.is_symlink() or not full.is_file():
            problems.append(f"{path}: altered (not a regular file)")
            continue
        size = full.stat().st_size
        if size != expected[path].size:
            problems.append(f"{path}: altered (size {size}, manifest says {expected[path].size})")
            continue
        to_hash.append(full)
    for full, digest in hash_many(to_hash, workers).items():
        path = full.relative_to(bundle).as_posix()
        if isinstance(digest, OSError):
            problems.append(f"{path}: unreadable ({digest.strerror})")
        elif digest != expected[path].sha256:
            problems.append(f"{path}: altered (sha256 {digest}, manifest says {expected[path].sha256})")
    return Report(len(expected), sum(f.size for f in expected.values()), problems, manifest)

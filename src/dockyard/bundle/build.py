"""``invoke bundle.build``: fetch the selected artefacts once, verify them, lay them out as the
mirror serves them, and write the signed manifest (format: :mod:`dockyard.bundle.manifest`).

Everything is checked before anything is written: the signing key, the inventories, the pins (an
artefact without a published sha256 or digest is refused unless ``--pin-unknown FILE`` is given,
which records trust-on-first-use pins and says so loudly). A bundle directory never looks valid
while it is being built: the old manifest is removed first and the new one written last.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import dockyard
from dockyard import catalogue
from dockyard.bundle import fetch, images, split
from dockyard.bundle import manifest as m
from dockyard.bundle.hashing import hash_many
from dockyard.bundle.progress import Progress, human
from dockyard.files import write_atomic
from dockyard.problems import DockyardError, InvalidInput

PARTIAL_DIR = ".partial"  # unfinished downloads, resumed by the next run
Say = Callable[[str], None]


@dataclass(frozen=True)
class Request:
    out: Path
    key: Ed25519PrivateKey
    envs: tuple[str, ...]
    architectures: tuple[str, ...]
    artefacts: tuple[catalogue.Artefact, ...]
    since: Path | None = None
    split_size: int | None = None
    pin_unknown: Path | None = None
    policy: fetch.Policy = field(default_factory=fetch.Policy)


@dataclass(frozen=True)
class Result:
    manifest: m.Manifest
    downloaded_files: int
    downloaded_bytes: int
    copied_images: int
    tofu_pins: dict[str, dict[str, Any]]
    unchanged: bool = False  # the manifest (and its signature) are the ones the bundle already had


def _unknown_pins(arts: tuple[catalogue.Artefact, ...]) -> list[str]:
    return [f"{a.component}.artefacts.{a.id}" for a in arts if a.sha256 is None]


def check(req: Request) -> None:
    """Refuse what cannot be built, before anything is written."""
    missing = _unknown_pins(req.artefacts)
    if missing and req.pin_unknown is None:
        raise InvalidInput(
            f"dockyard_catalogue: {len(missing)} artefact(s) have no published sha256/digest: "
            f"{', '.join(missing)} (pin them in the inventory's dockyard_catalogue, or pass "
            f"--pin-unknown FILE to record trust-on-first-use pins)"
        )
    for art in req.artefacts:
        if art.kind == "image" and not art.ref:
            raise InvalidInput(f"dockyard_catalogue: {art.component}.artefacts.{art.id}: an image needs ref")
        if art.kind != "image" and not art.url:
            raise InvalidInput(f"dockyard_catalogue: {art.component}.artefacts.{art.id}: needs url (kind {art.kind})")
    if req.out.exists() and not req.out.is_dir():
        raise InvalidInput(f"--out {req.out}: exists and is not a directory")
    if ":" in str(req.out.resolve()):
        raise InvalidInput(f"--out {req.out}: the path may not contain ':' (skopeo's oci: transport)")


def _base(since: Path | None) -> tuple[str | None, set[tuple[str, str]], set[str], set[str]]:
    """The base manifest of a delta: (its sha256, (path, sha256) of its files, its paths, image digests)."""
    if since is None:
        return None, set(), set(), set()
    path = since / m.MANIFEST if since.is_dir() else since
    if not path.is_file():
        raise InvalidInput(f"--since {since}: not found (give the base bundle's manifest.yaml)")
    data = path.read_bytes()
    base = m.Manifest.from_bytes(data, str(path))
    return (
        hashlib.sha256(data).hexdigest(),
        {(f.path, f.sha256) for f in base.files},
        {f.path for f in base.files},
        {i.digest for i in base.images},
    )


def build(req: Request, say: Say, progress_stream: Any = None) -> Result:
    check(req)
    base_sha, base_files, base_paths, base_digests = _base(req.since)
    out = req.out
    out.mkdir(parents=True, exist_ok=True)
    previous = _previous(out, req.key)
    for name in (m.MANIFEST, m.SIGNATURE):  # never a valid-looking bundle while building
        (out / name).unlink(missing_ok=True)

    file_arts = [a for a in req.artefacts if a.kind != "image"]
    image_arts = [a for a in req.artefacts if a.kind == "image"]
    downloads: list[fetch.Download] = []
    by_path: dict[str, catalogue.Artefact] = {}
    skipped_delta = 0
    for art in file_arts:
        assert art.url is not None
        path = catalogue.mirror_file_path(art.url)
        if (path, art.sha256) in base_files or (art.sha256 is None and path in base_paths):
            skipped_delta += 1
            continue
        if path in by_path:
            continue
        by_path[path] = art
        downloads.append(fetch.Download(f"{art.component}/{art.id}", art.url, out / path, art.sha256))
    image_jobs = []
    for art in image_arts:
        assert art.ref is not None
        digest = f"sha256:{art.sha256}" if art.sha256 else None
        if digest in base_digests:
            skipped_delta += 1
            continue
        image_jobs.append((art, images.ImageJob(f"{art.component}/{art.id}", art.ref, digest)))
    if req.since:
        say(f"delta against {req.since}: {skipped_delta} artefact(s) unchanged since the base bundle, left out")

    progress = Progress(len(downloads) + len(image_jobs), progress_stream)
    fetched, errors = fetch.fetch_all(downloads, out / PARTIAL_DIR, progress, req.policy)

    image_entries: list[m.ImageEntry] = []
    tofu: dict[str, dict[str, Any]] = {}
    copied = 0
    layout = out / m.IMAGES_DIR
    for art, job in image_jobs:
        try:
            digest = job.digest or images.resolve_digest(job)
            if images.present(layout, job.oci_ref, digest):
                progress.finish(job.name, f"present {job.name} ({job.oci_ref}@{digest[:19]}...)")
            else:
                images.copy(job, digest, layout)
                copied += 1
                progress.finish(job.name, f"copied {job.name} ({job.oci_ref}@{digest[:19]}...)")
        except images.ImageError as exc:
            progress.finish(job.name, f"FAILED {job.name}")
            errors.append(str(exc))
            continue
        pin = m.PIN_CATALOGUE if job.digest else m.PIN_TOFU
        if job.digest is None:
            tofu.setdefault(art.component, {"artefacts": {}})["artefacts"][art.id] = _tofu_entry(
                digest.removeprefix("sha256:"), job.ref
            )
        image_entries.append(m.ImageEntry(art.component, art.id, art.version, job.ref, digest, job.oci_ref, pin))
    if errors:
        raise BuildFailed(errors)

    files: list[m.FileEntry] = []
    for f in sorted(fetched, key=lambda f: f.download.dest):
        path = f.download.dest.relative_to(out).as_posix()
        art = by_path[path]
        pin = m.PIN_CATALOGUE if art.sha256 else m.PIN_TOFU
        if art.sha256 is None:
            tofu.setdefault(art.component, {"artefacts": {}})["artefacts"][art.id] = _tofu_entry(f.sha256, art.url)
        files.append(
            m.FileEntry(
                path, f.size, f.sha256, art.kind, art.component, art.id, art.version, str(art.url),
                art.arch, art.package, art.os_release, pin,
            )
        )  # fmt: skip
    _remove_stale(out, {f.path for f in files}, say)
    shutil.rmtree(out / PARTIAL_DIR, ignore_errors=True)
    manifest = m.Manifest(
        dockyard_version=dockyard.__version__,
        created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        envs=req.envs,
        architectures=req.architectures,
        files=tuple(files),
        images=tuple(image_entries),
        oci_layout=tuple(_layout_files(out)),
        base_manifest_sha256=base_sha,
    )
    if req.split_size:
        say(f"splitting into parts of {human(req.split_size)} below {out / m.PARTS_DIR}")
        manifest = _with_split(manifest, split.write_parts(out, manifest.payload(), req.split_size))
    else:
        shutil.rmtree(out / m.PARTS_DIR, ignore_errors=True)
    if tofu and req.pin_unknown:
        _write_pins(req.pin_unknown, tofu)
    unchanged = False
    if previous is not None and replace(manifest, created=previous[0].created).to_bytes() == previous[1]:
        # nothing changed: put back the same manifest and signature, byte for byte
        manifest, unchanged = previous[0], True
        write_atomic(out / m.MANIFEST, previous[1], 0o644)
        write_atomic(out / m.SIGNATURE, previous[2], 0o644)
    else:
        m.write(out, manifest, req.key)
    downloaded = sum(1 for f in fetched if f.transferred)
    return Result(manifest, downloaded, sum(f.transferred for f in fetched), copied, tofu, unchanged)


def _previous(out: Path, key: Ed25519PrivateKey) -> tuple[m.Manifest, bytes, bytes] | None:
    """The bundle's current manifest, its bytes and signature, when this builder's key signed it."""
    try:
        if m.check_signature(out, key.public_key()) is not None:
            return None
        return m.read(out), m.read_bytes(out), (out / m.SIGNATURE).read_bytes()
    except (InvalidInput, OSError):
        return None


def _with_split(manifest: m.Manifest, parts: m.Split) -> m.Manifest:
    return replace(manifest, split=parts)


class BuildFailed(DockyardError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"bundle build FAILED: {len(errors)} problem(s)")
        self.errors = errors

    def lines(self) -> list[str]:
        return [str(self), *(f"  {e}" for e in self.errors), "  (no manifest was written; rerun to resume)"]


def _tofu_entry(sha: str, source: str | None) -> dict[str, Any]:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    return {
        "sha256": sha,
        "sha256_source": f"[trust-on-first-use] recorded by invoke bundle.build on {when} from {source}; "
        "NOT published by upstream: check it against a second source",
    }


def _write_pins(path: Path, pins: dict[str, dict[str, Any]]) -> None:
    """Merge ``pins`` into the override file ``path`` (``dockyard_catalogue:`` at the top)."""
    data: dict[str, Any] = {}
    if path.is_file():
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise InvalidInput(f"--pin-unknown {path}: not a YAML mapping (give a new file, or an override file)")
        data = loaded
    cat = data.setdefault("dockyard_catalogue", {})
    for comp, body in pins.items():
        arts = cat.setdefault(comp, {}).setdefault("artefacts", {})
        for art_id, fields in body["artefacts"].items():
            arts.setdefault(art_id, {}).update(fields)
    header = (
        "---\n# Trust-on-first-use pins written by `invoke bundle.build --pin-unknown`: hashes of what was\n"
        "# downloaded, NOT values upstream published. Check each against a second source before trusting it.\n"
    )
    write_atomic(path, (header + yaml.safe_dump(data, sort_keys=True)).encode(), 0o644)


def _remove_stale(out: Path, keep: set[str], say: Say) -> None:
    root = out / m.FILES_DIR
    if not root.is_dir():
        return
    stale = [p for p in root.rglob("*") if p.is_file() and p.relative_to(out).as_posix() not in keep]
    for p in stale:
        p.unlink()
    for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()
    if stale:
        say(f"removed {len(stale)} file(s) below {root} that this bundle no longer holds")


def _layout_files(out: Path) -> list[m.LayoutFile]:
    root = out / m.IMAGES_DIR
    if not root.is_dir():
        return []
    paths = sorted(p for p in root.rglob("*") if p.is_file())
    digests = hash_many(paths)
    entries = []
    for p in paths:
        digest = digests[p]
        if isinstance(digest, OSError):
            raise DockyardError(f"{p}: unreadable ({digest.strerror})")
        entries.append(m.LayoutFile(p.relative_to(out).as_posix(), p.stat().st_size, digest))
    return entries


def warn(text: str) -> None:
    print(text, file=sys.stderr, flush=True)

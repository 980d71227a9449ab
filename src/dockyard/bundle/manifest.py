"""The air-gap bundle's format (``dockyard-bundle/v1``): its manifest, and the manifest's signature.

A bundle is a directory::

    DIR/manifest.yaml            this format (below)
    DIR/manifest.yaml.sig        Ed25519 signature over the exact bytes of manifest.yaml, base64
    DIR/files/<host>/<path>      kinds file, deb, chart, jenkins-plugin: the layout the mirror serves
                                 (https://<mirror>/files/<upstream host>/<upstream path>)
    DIR/images/                  one OCI image layout (oci-layout, index.json, blobs/sha256/...)
    DIR/parts/bundle.tar.NNN     only with --split: files/ and images/ as one tar cut into parts

``manifest.yaml`` lists every file of the bundle with its size and sha256, so verifying the
signature and re-hashing every file proves the whole bundle. ``files`` are the catalogue's file
artefacts, ``images`` the catalogue's images (upstream ref, digest, and the name under which the
OCI layout's index.json holds them), ``oci_layout`` every file below ``images/``, ``split`` the
parts when the bundle was cut. A delta bundle (``--since``) names the sha256 of its base manifest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dockyard.problems import InvalidInput

FORMAT = "dockyard-bundle/v1"
MANIFEST = "manifest.yaml"
SIGNATURE = "manifest.yaml.sig"
FILES_DIR = "files"
IMAGES_DIR = "images"
PARTS_DIR = "parts"
PIN_CATALOGUE = "catalogue"
PIN_TOFU = "trust-on-first-use"  # --pin-unknown: the hash was recorded at download, not published


@dataclass(frozen=True)
class FileEntry:
    """One catalogue artefact carried as a file (kinds file, deb, chart, jenkins-plugin)."""

    path: str  # relative to the bundle: files/<upstream host>/<upstream path>
    size: int
    sha256: str  # hex
    kind: str
    component: str
    id: str
    version: str
    source: str  # upstream URL
    arch: str | None = None
    package: str | None = None  # deb: the package name
    os_release: str | None = None  # deb: e.g. debian-12
    pin: str = PIN_CATALOGUE


@dataclass(frozen=True)
class ImageEntry:
    """One catalogue image, copied by digest into the bundle's OCI layout."""

    component: str
    id: str
    version: str
    source: str  # upstream reference name:tag
    digest: str  # sha256:<hex> of the (index or image) manifest, unchanged from upstream
    oci_ref: str  # org.opencontainers.image.ref.name of it in images/index.json
    pin: str = PIN_CATALOGUE


@dataclass(frozen=True)
class LayoutFile:
    """A file that is not an artefact of its own: the OCI layout's files, split parts."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Split:
    size: int  # bytes per part (the last one may be smaller)
    archive: str  # "tar": files/ and images/ as one uncompressed tar, cut into parts in order
    parts: tuple[LayoutFile, ...]


@dataclass(frozen=True)
class Manifest:
    dockyard_version: str
    created: str  # ISO 8601, UTC
    envs: tuple[str, ...]
    architectures: tuple[str, ...]
    files: tuple[FileEntry, ...] = ()
    images: tuple[ImageEntry, ...] = ()
    oci_layout: tuple[LayoutFile, ...] = ()
    base_manifest_sha256: str | None = None  # delta bundles: sha256 of the base manifest.yaml bytes
    split: Split | None = None
    format: str = FORMAT

    def payload(self) -> list[LayoutFile]:
        """Every file below files/ and images/ with its size and hash (what a tar of them holds)."""
        return [LayoutFile(f.path, f.size, f.sha256) for f in self.files] + list(self.oci_layout)

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {
            "format": self.format,
            "dockyard_version": self.dockyard_version,
            "created": self.created,
            "envs": list(self.envs),
            "architectures": list(self.architectures),
            "base_manifest_sha256": self.base_manifest_sha256,
            "files": [_compact(asdict(f)) for f in self.files],
            "images": [asdict(i) for i in self.images],
            "oci_layout": [asdict(f) for f in self.oci_layout],
            "split": None
            if self.split is None
            else {
                "size": self.split.size,
                "archive": self.split.archive,
                "parts": [asdict(p) for p in self.split.parts],
            },
        }
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes, where: str = MANIFEST) -> Manifest:
        """Parse a manifest; any malformation is one InvalidInput line naming ``where`` and the key."""
        try:
            raw = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{where}: not valid YAML ({_first_line(exc)}): the bundle is damaged") from None
        if not isinstance(raw, dict):
            raise InvalidInput(f"{where}: not a bundle manifest (expected a mapping with format: {FORMAT})")
        if raw.get("format") != FORMAT:
            raise InvalidInput(f"{where}: format: {raw.get('format')!r} is not {FORMAT} (a bundle of another version?)")
        try:
            split = raw.get("split")
            return cls(
                dockyard_version=str(raw["dockyard_version"]),
                created=str(raw["created"]),
                envs=tuple(str(e) for e in raw.get("envs") or ()),
                architectures=tuple(str(a) for a in raw.get("architectures") or ()),
                files=tuple(_build(FileEntry, f) for f in raw.get("files") or ()),
                images=tuple(_build(ImageEntry, i) for i in raw.get("images") or ()),
                oci_layout=tuple(_build(LayoutFile, f) for f in raw.get("oci_layout") or ()),
                base_manifest_sha256=raw.get("base_manifest_sha256"),
                split=None
                if not split
                else Split(
                    size=int(split["size"]),
                    archive=str(split["archive"]),
                    parts=tuple(_build(LayoutFile, p) for p in split["parts"]),
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(
                f"{where}: malformed entry ({type(exc).__name__}: {exc}): the bundle is damaged"
            ) from None


def _compact(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if v is not None}


def _build(cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise TypeError(f"expected a mapping, got {type(raw).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise KeyError(f"unknown key(s) {', '.join(sorted(unknown))}")
    obj = cls(**raw)
    if "size" in known and not isinstance(obj.size, int):
        raise ValueError(f"size of {raw.get('path')} is not an integer")
    return obj


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- reading and writing a bundle's manifest -------------------------------------------------


def read_bytes(bundle: Path) -> bytes:
    path = bundle / MANIFEST
    if not bundle.is_dir():
        raise InvalidInput(f"{bundle}: not a directory (give the bundle directory that holds {MANIFEST})")
    if not path.is_file():
        raise InvalidInput(f"{path}: missing: not a bundle, or an incomplete copy")
    return path.read_bytes()


def read(bundle: Path) -> Manifest:
    return Manifest.from_bytes(read_bytes(bundle), str(bundle / MANIFEST))


def write(bundle: Path, manifest: Manifest, key: Ed25519PrivateKey) -> bytes:
    """Write manifest.yaml and its signature; returns the manifest bytes that were signed."""
    from dockyard.files import write_atomic  # noqa: PLC0415

    data = manifest.to_bytes()
    write_atomic(bundle / MANIFEST, data, 0o644)
    write_atomic(bundle / SIGNATURE, sign(data, key) + b"\n", 0o644)
    return data


# --- keys and signatures ---------------------------------------------------------------------


def sign(data: bytes, key: Ed25519PrivateKey) -> bytes:
    return base64.b64encode(key.sign(data))


def signature_ok(data: bytes, signature_b64: bytes, public_key: Ed25519PublicKey) -> bool:
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
        public_key.verify(signature, data)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def check_signature(bundle: Path, public_key: Ed25519PublicKey) -> str | None:
    """None when manifest.yaml.sig is a valid signature of manifest.yaml by ``public_key``, else why not."""
    sig = bundle / SIGNATURE
    if not sig.is_file():
        return f"{SIGNATURE}: missing: the manifest is unsigned (rebuild with `invoke bundle.build --key FILE`)"
    if not signature_ok(read_bytes(bundle), sig.read_bytes(), public_key):
        return (
            f"{SIGNATURE}: does not verify with dockyard_bundle_public_key "
            f"(manifest altered, or signed by another builder's key)"
        )
    return None


def private_key_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_text(key: Ed25519PublicKey) -> str:
    """The one-line form for the inventory's ``dockyard_bundle_public_key`` (OpenSSH ``ssh-ed25519 ...``)."""
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    if not path.is_file():
        raise InvalidInput(f"{path}: signing key not found (create one with `invoke bundle.keygen`)")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{path}: not an unencrypted PEM private key ({_first_line(exc)})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{path}: not an Ed25519 key (create one with `invoke bundle.keygen`)")
    return key


def parse_public_key(text: str, where: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its OpenSSH line (``ssh-ed25519 AAAA...``) or PEM text."""
    data = text.strip().encode()
    try:
        if data.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_ssh_public_key(data)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidInput(
            f"{where}: not an Ed25519 public key ({_first_line(exc)}; use the line `invoke bundle.keygen` printed)"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(f"{where}: not an Ed25519 public key (use the line `invoke bundle.keygen` printed)")
    return key

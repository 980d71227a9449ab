"""What ``invoke bundle.keygen|build|verify`` do; each returns the exit code, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dockyard import cli, inventory
from dockyard.bundle import build as builder
from dockyard.bundle import fetch, selection
from dockyard.bundle import manifest as m
from dockyard.bundle import verify as verifier
from dockyard.bundle.progress import human
from dockyard.bundle.split import parse_size
from dockyard.files import write_atomic
from dockyard.problems import InvalidInput, SpecInvalid
from dockyard.spec.model import Platform
from dockyard.spec.validate import validate as validate_spec

KEY_FILE = "bundle-signing.key"
PUBLIC_KEY_VAR = "dockyard_bundle_public_key"
UNKNOWN_PIN = "is unknown, and an air-gapped site installs only pinned artefacts"


def default_key(root: Path) -> Path:
    return cli.state_dir(root) / KEY_FILE


@cli.guarded
def keygen(root: Path, key: str | None = None, force: bool = False) -> int:
    path = Path(key) if key else default_key(root)
    pub_path = path.with_name(path.name + ".pub")
    if path.exists() and not force:
        public = m.load_private_key(path).public_key()
        cli.out(f"bundle keygen: {path} exists, kept (use --force to replace it); its public key:")
    else:
        private = Ed25519PrivateKey.generate()
        write_atomic(path, m.private_key_bytes(private), 0o600)
        public = private.public_key()
        cli.out(f"bundle keygen: wrote the private key {path} (0600: keep it on the builder, never share it)")
    line = m.public_key_text(public)
    write_atomic(pub_path, (line + "\n").encode(), 0o644)
    cli.out(f"public key (also in {pub_path}); put it in the inventory, e.g. group_vars/all/bundle.yml:")
    cli.out(f"{PUBLIC_KEY_VAR}: {line}")
    return 0


def _load(
    root: Path, inventories: str | None, env: str, allow_unknown: bool
) -> tuple[inventory.LoadedInventory, Platform]:
    """Load and validate an environment; with ``--pin-unknown`` an air-gapped spec's unknown pins
    are what this build is about to record, so only those problems are let through."""
    cli.use_project_config(root)
    inv = inventory.load(cli.inventory_tree(root, inventories), env)
    try:
        return inv, validate_spec(inv)
    except SpecInvalid as exc:
        rest = [p for p in exc.problems if not (allow_unknown and p.message == UNKNOWN_PIN)]
        if rest:
            raise SpecInvalid(rest) from None
        from dockyard.spec.validate import build as model  # noqa: PLC0415

        return inv, model(inv.spec)


@cli.guarded
def build(
    root: Path,
    *,
    inventories: str | None,
    out: str | None,
    env: str = "all",
    only: str | None = None,
    since: str | None = None,
    split_size: str | None = None,
    pin_unknown: str | None = None,
    key: str | None = None,
    workers: int = 4,
) -> int:
    if not out:
        raise InvalidInput("bundle build: --out DIR is required (where the bundle is written)")
    size = parse_size(split_size) if split_size else None
    private = m.load_private_key(Path(key) if key else default_key(root))
    tree = cli.inventory_tree(root, inventories)
    envs = tree.environments() if env == "all" else [env]
    if env == "all" and not envs:
        tree.require_env("all")  # says the tree is missing or lists nothing
    wanted = [o.strip() for o in only.split(",") if o.strip()] if only else None
    arts: dict[tuple[str, str, str | None, str | None], object] = {}
    arches: set[str] = set()
    for name in envs:
        inv, platform = _load(root, inventories, name, allow_unknown=pin_unknown is not None)
        scope = selection.scope(inv, platform)
        arches |= scope.architectures
        for art in selection.artefacts(inv.spec["dockyard_catalogue"], scope, wanted):
            arts.setdefault((art.component, art.id, art.url or art.ref, art.sha256), art)
    req = builder.Request(
        out=Path(out),
        key=private,
        envs=tuple(envs),
        architectures=tuple(sorted(arches)),
        artefacts=tuple(arts.values()),  # type: ignore[arg-type]
        since=Path(since) if since else None,
        split_size=size,
        pin_unknown=Path(pin_unknown) if pin_unknown else None,
        policy=fetch.Policy(workers=workers),
    )
    started = time.monotonic()
    cli.out(
        f"bundle build: env(s) {', '.join(envs)}, architectures {', '.join(req.architectures)}: "
        f"{len(req.artefacts)} artefact(s) selected"
    )
    result = builder.build(req, cli.out)
    if result.tofu_pins:
        cli.err(
            f"WARNING: TRUST-ON-FIRST-USE pins for {sum(len(c['artefacts']) for c in result.tofu_pins.values())} "
            f"artefact(s) written to {pin_unknown}: these hashes are of what was downloaded just now, NOT "
            f"values upstream published; check each against a second source before adding the file to the inventory:"
        )
        for comp, body in sorted(result.tofu_pins.items()):
            for art_id, fields in sorted(body["artefacts"].items()):
                cli.err(f"WARNING:   {comp}.artefacts.{art_id}: {fields['sha256']}")
    mf = result.manifest
    total = sum(f.size for f in mf.payload())
    fetched = (
        f"downloaded {result.downloaded_files} file(s) ({human(result.downloaded_bytes)}), "
        f"copied {result.copied_images} image(s)"
        if result.downloaded_files or result.copied_images
        else "nothing downloaded: every artefact was already present and verified"
    )
    parts = f", {len(mf.split.parts)} part(s)" if mf.split else ""
    cli.out(
        f"bundle build OK: {out}: {len(mf.files)} file(s), {len(mf.images)} image(s), {human(total)}{parts}; "
        f"{fetched}; "
        + (f"manifest unchanged: {out}/{m.MANIFEST}" if result.unchanged else f"signed manifest {out}/{m.MANIFEST}")
        + f" ({time.monotonic() - started:.1f}s)"
    )
    return 0


def _public_key(root: Path, inventories: str | None, env: str | None, public_key: str | None) -> Ed25519PublicKey:
    if public_key:
        path = Path(public_key)
        if not path.is_file():
            raise InvalidInput(f"--public-key {path}: not found")
        return m.parse_public_key(path.read_text(), str(path))
    tree = cli.inventory_tree(root, inventories)
    name = env or next(iter(tree.environments()), None)
    if name is None:
        tree.require_env("(any)")
    cli.use_project_config(root)
    inv = inventory.load(tree, str(name))
    text = inv.spec.get(PUBLIC_KEY_VAR)
    if not text:
        raise InvalidInput(
            f"{inv.sources[-1]}: {PUBLIC_KEY_VAR}: not set (put the builder's public key from "
            f"`invoke bundle.keygen` in group_vars/all, or pass --public-key FILE)"
        )
    return m.parse_public_key(str(text), f"{inv.origin([PUBLIC_KEY_VAR])}: {PUBLIC_KEY_VAR}")


@cli.guarded
def verify(
    root: Path,
    bundle: str,
    *,
    inventories: str | None = None,
    env: str | None = None,
    public_key: str | None = None,
    workers: int | None = None,
) -> int:
    if not bundle:
        raise InvalidInput("bundle verify: give the bundle directory (invoke bundle.verify DIR)")
    key = _public_key(root, inventories, env, public_key)
    started = time.monotonic()
    report = verifier.verify(Path(bundle), key, workers)
    seconds = time.monotonic() - started
    if report.ok:
        cli.out(
            f"bundle verify OK: {bundle}: signature valid, {report.files} file(s), {human(report.bytes)} "
            f"re-hashed in {seconds:.1f}s ({human(report.bytes / max(seconds, 1e-6))}/s)"
        )
        return 0
    cli.err(f"bundle verify FAILED: {bundle}: {len(report.problems)} problem(s)")
    for line in report.problems:
        cli.err(f"  {line}")
    return 1

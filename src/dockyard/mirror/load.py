"""``invoke bundle.load DIR --env ENV``: a verified bundle into the mirror, skipping what it already holds.

Over the SSH the inventory defines for the mirror host (its ``ansible_host``, ``ansible_user``,
``ansible_port``, ``ansible_ssh_private_key_file``, ``ansible_ssh_common_args``):

1. the bundle is verified first (signature against ``dockyard_bundle_public_key``, every file
   re-hashed); nothing is sent from a bundle that fails;
2. files (every kind carried as a file: files, vendor packages, charts, plugins) go with rsync into
   ``/srv/dockyard-mirror/files/<upstream host>/<upstream path>`` and are re-hashed there;
3. vendor packages are added to the apt suite of their ``os_release`` with reprepro, which signs the
   new ``Release`` with the repository key;
4. images are copied by digest with skopeo from the bundle's OCI layout (rsynced to the mirror's
   staging folder, only blobs it lacks) into ``<mirror registry>/<upstream registry>/<path>``, with
   the push account from the vault over TLS verified against the internal CA, then their digest is
   read back from the registry.

The mirror keeps what it was loaded with in ``/var/lib/dockyard-mirror/loaded.json`` (path -> sha256,
image -> digest, manifest digests), written after each step, so a load killed half-way resumes
where
it stopped and a second load of the same bundle compares digests only and transfers nothing.
A delta bundle loads only on top of a mirror that holds its base manifest.
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard import cli, inventory, secrets
from dockyard.bundle import manifest as m
from dockyard.bundle import verify as verifier
from dockyard.bundle.cli import _public_key as bundle_public_key
from dockyard.bundle.progress import human
from dockyard.catalogue import mirror_image_ref
from dockyard.mirror.credentials import PUSH_PASSWORD, PUSH_USER
from dockyard.problems import DockyardError, InvalidInput

MIRROR_ROOT = "/srv/dockyard-mirror"
STATE_FILE = "/var/lib/dockyard-mirror/loaded.json"
STAGING = "/var/lib/dockyard-mirror/staging"
REPREPRO_BASE = "/var/lib/dockyard-mirror/reprepro"


@dataclass(frozen=True)
class Target:
    """The mirror host as the inventory reaches it over SSH."""

    name: str
    address: str
    user: str
    port: int | None
    key_file: str | None
    options: tuple[str, ...]

    @classmethod
    def of(cls, host: inventory.Host) -> Target:
        port = host.get("ansible_port")
        return cls(
            name=host.name,
            address=host.address,
            user=str(host.get("ansible_user") or "root"),
            port=int(port) if port else None,
            key_file=host.get("ansible_ssh_private_key_file"),
            options=tuple(shlex.split(str(host.get("ansible_ssh_common_args") or ""))),
        )

    def ssh(self) -> list[str]:
        cmd = ["ssh", "-o", "BatchMode=yes", *self.options]
        if self.port:
            cmd += ["-p", str(self.port)]
        if self.key_file:
            cmd += ["-i", str(self.key_file)]
        return cmd

    @property
    def login(self) -> str:
        return f"{self.user}@{self.address}"

    def run(self, script: str, stdin: bytes | None = None, what: str = "") -> str:
        """Run a shell script on the mirror (as root: sudo -n when the login user is not root)."""
        remote = f"sh -c {shlex.quote('set -e; ' + script)}"
        if self.user != "root":
            remote = f"sudo -n {remote}"
        proc = subprocess.run([*self.ssh(), self.login, remote], input=stdin, capture_output=True, check=False)
        if proc.returncode != 0:
            detail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
            reason = " / ".join(detail) or f"exit {proc.returncode}"
            raise DockyardError(f"mirror {self.name}: {what or 'command'} failed: {reason}")
        return proc.stdout.decode(errors="replace")

    def rsync(self, source: Path, paths: list[str], dest: str) -> int:
        """Send ``paths`` (relative to ``source``) into ``dest``; resumable; returns the bytes sent."""
        rsh = " ".join(shlex.quote(a) for a in self.ssh())
        cmd = [
            "rsync", "--archive", "--partial", "--chmod=D0755,F0644", "--stats", "--files-from=-",
            "--rsh", rsh, f"{source}/", f"{self.login}:{dest}/",
        ]  # fmt: skip
        if self.user != "root":
            cmd[1:1] = ["--rsync-path", "sudo -n rsync"]
        proc = subprocess.run(cmd, input="\n".join(paths).encode(), capture_output=True, check=False)
        if proc.returncode != 0:
            detail = proc.stderr.decode(errors="replace").strip().splitlines()[-2:]
            raise DockyardError(f"mirror {self.name}: rsync to {dest} failed: {' / '.join(detail)}")
        for line in proc.stdout.decode().splitlines():
            if line.startswith("Total bytes sent:"):
                return int(line.split(":", 1)[1].strip().replace(",", ""))
        return 0


@dataclass
class State:
    """What the mirror holds, as loads recorded it."""

    manifests: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # files/<host>/<path> -> sha256
    debs: dict[str, str] = field(default_factory=dict)  # files/... of included packages -> sha256
    images: dict[str, str] = field(default_factory=dict)  # mirror reference -> digest

    @classmethod
    def parse(cls, text: str, where: str) -> State:
        try:
            raw: dict[str, Any] = json.loads(text or "{}")
            return cls(
                manifests=list(raw.get("manifests", [])),
                files=dict(raw.get("files", {})),
                debs=dict(raw.get("debs", {})),
                images=dict(raw.get("images", {})),
            )
        except (ValueError, TypeError, AttributeError):
            raise DockyardError(f"{where}: not a load record (move it away; the next load sends everything)") from None

    def to_bytes(self) -> bytes:
        return json.dumps(self.__dict__, indent=1, sort_keys=True).encode()


@dataclass
class Summary:
    files: int = 0
    packages: int = 0
    images: int = 0
    bytes: int = 0
    skipped: int = 0


@dataclass
class Run:
    """One load: the bundle, the mirror, what the mirror holds, what this load did."""

    bundle: Path
    target: Target
    state: State
    summary: Summary


def _say(text: str) -> None:
    cli.out(f"bundle load: {text}")


def _save(target: Target, state: State) -> None:
    target.run(
        f"mkdir -p {shlex.quote(str(Path(STATE_FILE).parent))}; umask 077; cat > {STATE_FILE}.new; "
        f"mv {STATE_FILE}.new {STATE_FILE}",
        stdin=state.to_bytes(),
        what="writing the load record",
    )


def _load_files(run: Run, files: list[m.FileEntry]) -> None:
    bundle, target, state, summary = run.bundle, run.target, run.state, run.summary
    pending = [f for f in files if state.files.get(f.path) != f.sha256]
    summary.skipped += len(files) - len(pending)
    if not pending:
        _say(f"files: {len(files)} already on the mirror (same sha256), nothing to send")
        return
    size = sum(f.size for f in pending)
    _say(f"files: sending {len(pending)} of {len(files)} ({human(size)}) with rsync")
    summary.bytes += target.rsync(bundle, [f.path for f in pending], MIRROR_ROOT)
    sums = "".join(f"{f.sha256}  {MIRROR_ROOT}/{f.path}\n" for f in pending)
    target.run("sha256sum --check --quiet --strict", stdin=sums.encode(), what="re-hashing the files sent")
    for f in pending:
        state.files[f.path] = f.sha256
    summary.files += len(pending)
    _save(target, state)
    _say(f"files: {len(pending)} sent and re-hashed on the mirror")


def _load_packages(run: Run, files: list[m.FileEntry]) -> None:
    target, state, summary = run.target, run.state, run.summary
    debs = [f for f in files if f.kind == "deb"]
    pending = [f for f in debs if state.debs.get(f.path) != f.sha256]
    summary.skipped += len(debs) - len(pending)
    if not debs:
        return
    if not pending:
        _say(f"packages: {len(debs)} already in the apt repository, nothing to add")
        return
    for f in pending:
        if not f.os_release:
            raise InvalidInput(f"{m.MANIFEST}: files: {f.path}: a deb without os_release (the bundle is damaged)")
        if f.path in state.debs:  # the same file name with other content: the bundle's (verified) one wins
            _say(f"packages: {f.package} {f.version} in suite {f.os_release} changed content: replacing it")
            target.run(
                f"reprepro --basedir {REPREPRO_BASE} remove {shlex.quote(f.os_release)} {shlex.quote(str(f.package))}",
                what=f"reprepro remove {f.package}",
            )
        _say(f"packages: {f.package or Path(f.path).name} {f.version} into suite {f.os_release}")
        target.run(
            f"reprepro --basedir {REPREPRO_BASE} includedeb {shlex.quote(f.os_release)} "
            f"{shlex.quote(MIRROR_ROOT + '/' + f.path)}",
            what=f"reprepro includedeb {f.path}",
        )
        state.debs[f.path] = f.sha256
        summary.packages += 1
        _save(target, state)


@dataclass(frozen=True)
class Registry:
    name: str  # host:port of the mirror registry
    password: str  # the push account's


def _load_images(run: Run, manifest: m.Manifest, registry: Registry) -> None:
    bundle, target, state, summary = run.bundle, run.target, run.state, run.summary
    refs = {i.oci_ref: mirror_image_ref(i.source, registry.name) for i in manifest.images}
    pending = [i for i in manifest.images if state.images.get(refs[i.oci_ref]) != i.digest]
    summary.skipped += len(manifest.images) - len(pending)
    if not manifest.images:
        return
    if not pending:
        _say(f"images: {len(manifest.images)} already in the registry (same digest), nothing to push")
        return
    layout = [f.path for f in manifest.oci_layout]
    _say("images: staging the OCI layout on the mirror (rsync sends only the blobs it lacks)")
    summary.bytes += target.rsync(bundle, layout, STAGING)
    token = base64.b64encode(f"{PUSH_USER}:{registry.password}".encode()).decode()
    auth = {"auths": {registry.name: {"auth": token}}}
    authfile = f"{STAGING}/push-auth.json"
    target.run(f"umask 077; cat > {authfile}", stdin=json.dumps(auth).encode(), what="writing the push credential")
    try:
        for image in pending:
            dest = refs[image.oci_ref]
            _say(f"images: {image.source}@{image.digest} -> {dest}")
            src = shlex.quote(f"oci:{STAGING}/{m.IMAGES_DIR}:{image.oci_ref}")
            got = target.run(
                f"skopeo copy --quiet --all --preserve-digests --dest-authfile {authfile} {src} "
                f"{shlex.quote('docker://' + dest)}; "
                f"skopeo inspect --raw --authfile {authfile} {shlex.quote('docker://' + dest)} | sha256sum",
                what=f"skopeo copy {image.source}",
            )
            digest = "sha256:" + got.split()[0]
            if digest != image.digest:
                raise DockyardError(f"mirror {target.name}: {dest}: the registry holds {digest}, not {image.digest}")
            state.images[dest] = image.digest
            summary.images += 1
            _save(target, state)
    finally:
        target.run(f"rm -f {authfile}", what="removing the push credential")


def check_base(bundle: str, manifest: m.Manifest, state: State, mirror: str) -> None:
    """A delta bundle loads only where its base manifest was loaded."""
    base = manifest.base_manifest_sha256
    if base and base not in state.manifests:
        raise InvalidInput(
            f"{bundle}: a delta on base manifest sha256 {base}, which mirror {mirror} has not loaded "
            f"(load that base bundle first)"
        )


@cli.guarded
def load(root: Path, bundle: str, env: str, *, inventories: str | None = None, public_key: str | None = None) -> int:
    started = time.monotonic()
    path = Path(bundle)
    inv, platform = cli.load(root, inventories, env)
    mirrors = inv.hosts_in("mirror")
    if not mirrors:
        raise InvalidInput(f"{inv.sources[-1]}: mirror: no host in group 'mirror' (bundle load fills the mirror host)")
    target = Target.of(mirrors[0])
    key = bundle_public_key(root, inventories, env, public_key)
    report = verifier.verify(path, key)
    if not report.ok or report.manifest is None:
        cli.err(f"bundle load REFUSED: {bundle}: verify found {len(report.problems)} problem(s); nothing was sent")
        for line in report.problems:
            cli.err(f"  {line}")
        return 1
    manifest = report.manifest
    if manifest.split is not None and not (path / m.FILES_DIR).exists() and not (path / m.IMAGES_DIR).exists():
        raise InvalidInput(f"{bundle}: holds only the split parts: join them first (cat parts/bundle.tar.* | tar -x)")
    digest = m.sha256_hex(m.read_bytes(path))
    _say(f"verified {bundle} (manifest sha256 {digest}, {report.files} file(s), {human(report.bytes)})")
    vault = secrets.Vault.open(inv.tree, env, cli.state_dir(root))
    password = vault.require(PUSH_PASSWORD, f"run `invoke bootstrap --env {env} --tags mirror` first: it creates it")
    record = target.run(f"cat {STATE_FILE} 2>/dev/null || true", what="reading the load record")
    state = State.parse(record, f"{target.name}:{STATE_FILE}")
    check_base(bundle, manifest, state, target.name)
    summary = Summary()
    run = Run(path, target, state, summary)
    _load_files(run, list(manifest.files))
    _load_packages(run, list(manifest.files))
    _load_images(run, manifest, Registry(platform.mirror_registry, password))
    if digest not in state.manifests:
        state.manifests.append(digest)
        _save(target, state)
    seconds = time.monotonic() - started
    moved = summary.files + summary.packages + summary.images
    verdict = "nothing transferred, the mirror already holds this bundle" if not moved else "loaded"
    cli.out(
        f"bundle load OK: {verdict}: files {summary.files}, packages {summary.packages}, images {summary.images}, "
        f"{human(summary.bytes)} sent, {summary.skipped} skipped (same digest), {seconds:.1f}s"
    )
    return 0

"""The mirror's generated secrets: registry accounts and the apt repository's signing key.

Vault keys (values never printed):

* ``mirror.registry.push_password``: account ``dockyard-push``, the only one that may write to the
  registry (``invoke bundle load`` uses it);
* ``mirror.registry.pull_password``: account ``dockyard-pull``, read-only, needed by every pull when
  ``dockyard_mirror.pull_auth`` is true (containerd on the nodes gets it);
* ``mirror.apt.signing_key``: the OpenPGP key (Ed25519, made by GnuPG) that signs the vendor apt
  repository's ``Release``, both halves armored in one value (secret block, then public block);
  the mirror imports it, hosts install the public block with ``signed-by``.

``python -m dockyard.mirror.credentials FILE`` writes a YAML ``dockyard_secrets`` file with these
values (0600) when FILE does not exist yet: the Molecule scenarios use it instead of a vault.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from dockyard.files import write_atomic
from dockyard.problems import DockyardError
from dockyard.secrets import random_password

PUSH_USER = "dockyard-push"
PULL_USER = "dockyard-pull"
PUSH_PASSWORD = "mirror.registry.push_password"  # noqa: S105 (vault key names, not passwords)
PULL_PASSWORD = "mirror.registry.pull_password"  # noqa: S105
APT_SIGNING_KEY = "mirror.apt.signing_key"
KEY_UID = "Dockyard mirror apt repository <mirror@dockyard.invalid>"


def _gpg(home: str, *args: str) -> str:
    proc = subprocess.run(
        ["gpg", "--homedir", home, "--batch", "--no-tty", "--quiet", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise DockyardError(f"gpg {args[0]}: failed: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout


def apt_signing_key() -> str:
    """A new Ed25519 signing key without passphrase (the vault protects it): secret then public block."""
    with tempfile.TemporaryDirectory(prefix="dockyard-gpg-") as home:
        no_passphrase = ("--pinentry-mode", "loopback", "--passphrase", "")
        _gpg(home, *no_passphrase, "--quick-gen-key", KEY_UID, "ed25519", "sign", "never")
        secret = _gpg(home, "--armor", "--export-secret-keys", KEY_UID)
        public = _gpg(home, "--armor", "--export", KEY_UID)
    return secret + public


def generators() -> dict[str, tuple[str, Callable[[], str]]]:
    """Vault key -> (what it is, how to make it): registered in dockyard.secret_registry."""
    return {
        PUSH_PASSWORD: (f"mirror registry account {PUSH_USER} (the only writer: bundle load)", random_password),
        PULL_PASSWORD: (f"mirror registry account {PULL_USER} (read-only, for pull_auth)", random_password),
        APT_SIGNING_KEY: ("OpenPGP key signing the mirror's vendor apt repository (secret + public)", apt_signing_key),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m dockyard.mirror.credentials FILE", file=sys.stderr)
        return 2
    path = Path(argv[0])
    if path.exists():
        return 0
    values = {key: make() for key, (_, make) in generators().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, yaml.safe_dump({"dockyard_secrets": values}).encode(), 0o600)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

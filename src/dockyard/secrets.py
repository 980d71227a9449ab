"""The vault: every secret Dockyard generates or is given, in one Ansible-Vault-encrypted file.

The file is ``group_vars/all/vault.yml`` of the inventory that holds the platform tier
(``inventories/platform``, or a self-contained environment's own folder), so Ansible loads it like
any other variable file: roles read ``dockyard_secrets['<key>']``. Python reads and writes it here.

The vault password comes from ``ANSIBLE_VAULT_PASSWORD_FILE`` when set; otherwise Dockyard keeps
one in ``.dockyard/vault-password`` (mode 0600, created on first use) and hands it to every
ansible-playbook it runs. Values are never printed: :class:`Vault` has no method that renders them.
"""

from __future__ import annotations

import os
import secrets as _random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import yaml

from dockyard.files import write_atomic
from dockyard.inventory import PLATFORM, InventoryTree
from dockyard.inventory_files import encrypted
from dockyard.problems import DockyardError, InvalidInput

VAULT_VAR = "dockyard_secrets"
VAULT_FILE = Path("group_vars") / "all" / "vault.yml"
PASSWORD_ENV = "ANSIBLE_VAULT_PASSWORD_FILE"  # noqa: S105 (the name of a variable, not a password)


def password_file(state_dir: Path, vaults: Sequence[Path] = ()) -> Path:
    """The vault password file in use, created (0600) under ``state_dir`` when none is configured.

    A new password is made only while no vault exists: with an encrypted vault among ``vaults``
    and no password, a new one could never open it, so that is an error."""
    configured = os.environ.get(PASSWORD_ENV)
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise InvalidInput(f"{PASSWORD_ENV}={configured}: file not found (point it at the vault password file)")
        return path
    path = state_dir / "vault-password"
    if not path.exists():
        locked = [v for v in vaults if encrypted(v)]
        if locked:
            raise InvalidInput(
                f"{locked[0]}: (file): vault-encrypted, but there is no vault password: {PASSWORD_ENV} is not set "
                f"and {path} does not exist (restore that password file, or set {PASSWORD_ENV} to the one the "
                f"vault was encrypted with; a new password could not open it)"
            )
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(path, _random.token_urlsafe(32).encode() + b"\n", 0o600)
    return path


def use_password_file(state_dir: Path, vaults: Sequence[Path] = (), *, create: bool = True) -> Path | None:
    """Point this process, and every Ansible it starts, at the vault password file. ``create``
    False (commands that only read): no password is made when there is none yet."""
    if not create and not os.environ.get(PASSWORD_ENV) and not (state_dir / "vault-password").exists():
        if any(encrypted(v) for v in vaults):
            password_file(state_dir, vaults)  # raises: a vault with no password to open it
        return None
    path = password_file(state_dir, vaults)
    os.environ[PASSWORD_ENV] = str(path)
    return path


def vaults_in(tree: InventoryTree) -> list[Path]:
    """Every vault-encrypted variable file of the tree's inventories."""
    if not tree.root.is_dir():
        return []
    return sorted(p for p in tree.root.glob("*/group_vars/**/*") if p.is_file() and encrypted(p))


def vault_path(tree: InventoryTree, env: str) -> Path:
    base = tree.env_dir(env) if tree.is_standalone(env) else tree.root / PLATFORM
    return base / VAULT_FILE


class Vault:
    """A mapping of secret names to values, encrypted at rest with Ansible Vault (AES256)."""

    def __init__(self, path: Path, password: bytes) -> None:
        from ansible.parsing.vault import VaultLib, VaultSecret  # noqa: PLC0415

        self.path = path
        self._lib = VaultLib([("default", VaultSecret(password))])
        self._data: dict[str, str] = self._read()
        self._deferred = False
        self._pending = False

    @classmethod
    def open(cls, tree: InventoryTree, env: str, state_dir: Path) -> Vault:
        path = vault_path(tree, env)
        pw = password_file(state_dir, [path]).read_bytes().strip()
        return cls(path, pw)

    def _read(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        from ansible.errors import AnsibleError  # noqa: PLC0415

        try:
            plain = self._lib.decrypt(self.path.read_bytes())
        except AnsibleError:
            raise InvalidInput(
                f"{self.path}: (file): cannot decrypt with the vault password in use "
                f"(set {PASSWORD_ENV} to the right password file)"
            ) from None
        data = yaml.safe_load(plain) or {}
        secrets = data.get(VAULT_VAR, {})
        if not isinstance(secrets, dict):
            raise InvalidInput(f"{self.path}: {VAULT_VAR}: is not a mapping (restore it from a backup)")
        return {str(k): str(v) for k, v in secrets.items()}

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def keys(self) -> list[str]:
        return sorted(self._data)

    def get(self, key: str) -> str | None:
        return self._data.get(key)

    def require(self, key: str, hint: str) -> str:
        value = self._data.get(key)
        if value is None:
            raise DockyardError(f"{self.path}: {VAULT_VAR}.{key}: not in the vault ({hint})")
        return value

    def set(self, key: str, value: str) -> bool:
        """Store a secret; returns whether anything changed. The file is rewritten atomically, 0600."""
        if self._data.get(key) == value:
            return False
        self._data[key] = value
        self._write()
        return True

    def set_many(self, values: Mapping[str, str]) -> list[str]:
        """Store several secrets with one write; returns the keys whose value changed."""
        changed = [k for k, v in values.items() if self._data.get(k) != v]
        if changed:
            self._data.update({k: values[k] for k in changed})
            self._write()
        return changed

    def delete(self, key: str) -> bool:
        if key not in self._data:
            return False
        del self._data[key]
        self._write()
        return True

    def get_or_create(self, key: str, generate: Callable[[], str]) -> tuple[str, bool]:
        """The stored value, or a newly generated one that is stored first. Returns (value, created)."""
        value = self._data.get(key)
        if value is not None:
            return value, False
        value = generate()
        self.set(key, value)
        return value, True

    def defer_writes(self) -> None:
        """Keep changes in memory until :meth:`flush`: a command that may still fail after making a
        secret (render, before its output is written) writes nothing until it knows it succeeded."""
        self._deferred = True

    def flush(self) -> bool:
        """Write the changes kept by :meth:`defer_writes`; returns whether anything was written."""
        self._deferred = False
        if not self._pending:
            return False
        self._write()
        return True

    def _write(self) -> None:
        if self._deferred:
            self._pending = True
            return
        self._pending = False
        plain = yaml.safe_dump({VAULT_VAR: dict(sorted(self._data.items()))}, default_flow_style=False).encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, self._lib.encrypt(plain), 0o600)


def random_password(length: int = 32) -> str:
    return _random.token_urlsafe(length)

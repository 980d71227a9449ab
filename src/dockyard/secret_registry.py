"""Secrets Dockyard generates before a run: the one list of vault keys that roles read and nobody types.

``invoke bootstrap`` creates every missing key here in the vault (after validation and preflight,
before Ansible runs), so a role only ever reads them: ``lookup('dockyard_secret', KEY)``. Values a
role produces on a host (tokens, escrowed secrets) are stored by the ``dockyard_vault`` action instead.
Add a key here when a role needs a secret that Dockyard chooses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dockyard.secrets import Vault, random_password


@dataclass(frozen=True)
class Generated:
    description: str
    make: Callable[[], str] = random_password


CA_KEY_PASSPHRASE = "pki.ca-key-passphrase"  # noqa: S105 (a vault key's name)
GENERATED: dict[str, Generated] = {
    CA_KEY_PASSPHRASE: Generated("passphrase of the internal CA's private key (roles/internal_ca)"),
}


def missing(vault: Vault) -> list[str]:
    return sorted(k for k in GENERATED if k not in vault)


def ensure(vault: Vault) -> list[str]:
    """Generate every declared secret the vault lacks, in one write; returns the keys created."""
    values = {key: GENERATED[key].make() for key in missing(vault)}
    return vault.set_many(values) if values else []

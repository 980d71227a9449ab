"""Secrets Dockyard generates before a run: the one list of vault keys that roles read and nobody types.

``invoke bootstrap`` creates every missing key here in the vault (after validation and preflight,
before Ansible runs), so a role only ever reads them: ``lookup('dockyard_secret', KEY)``. Values a
role produces on a host (tokens, escrowed secrets) are stored by the ``dockyard_vault`` action instead.
Add a key here when a role needs a secret that Dockyard chooses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dockyard.mirror import credentials as mirror_credentials
from dockyard.secrets import Vault, random_password


@dataclass(frozen=True)
class Generated:
    description: str
    make: Callable[[], str] = random_password


def harbor_password() -> str:
    """A random password Harbor accepts: 8-128 characters with an upper and a lower case letter and a
    digit (Harbor's password policy); token_urlsafe alone does not guarantee all three."""
    while True:
        value = random_password()
        if any(c.isupper() for c in value) and any(c.islower() for c in value) and any(c.isdigit() for c in value):
            return value


CA_KEY_PASSPHRASE = "pki.ca-key-passphrase"  # noqa: S105 (a vault key's name)
GENERATED: dict[str, Generated] = {
    CA_KEY_PASSPHRASE: Generated("passphrase of the internal CA's private key (roles/internal_ca)"),
    **{key: Generated(text, make) for key, (text, make) in mirror_credentials.generators().items()},
    # roles/tools/jenkins: the local admin user's password (JCasC local realm).
    "jenkins.admin_password": Generated("password of Jenkins' local admin user (JCasC, roles/tools/jenkins)"),
    # roles/tools/gitlab: root's password, given to the first install only (GITLAB_ROOT_PASSWORD).
    "gitlab.root_password": Generated("GitLab root password (first install)"),
    # roles/tools/harbor: harbor.yml's passwords.
    "harbor.admin_password": Generated(
        "Harbor's initial admin password (harbor.yml harbor_admin_password, read on the first install)",
        harbor_password,
    ),
    "harbor.database_password": Generated(
        "the password of Harbor's bundled PostgreSQL (harbor.yml database.password)", harbor_password
    ),
}


def missing(vault: Vault) -> list[str]:
    return sorted(k for k in GENERATED if k not in vault)


def ensure(vault: Vault) -> list[str]:
    """Generate every declared secret the vault lacks, in one write; returns the keys created."""
    values = {key: GENERATED[key].make() for key in missing(vault)}
    return vault.set_many(values) if values else []

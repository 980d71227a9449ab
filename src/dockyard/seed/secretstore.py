"""The vault as seed uses it: read, generate what is missing, write only when applying.

Secrets seed generates itself (deploy keys, webhook tokens, robot secrets) are created and stored
in one vault write *before* any tool is told about them, so a run that stops half way never leaves
a tool holding a secret the vault does not have. In a dry run nothing is generated or written.
"""

from __future__ import annotations

import secrets as _random
import string
from collections.abc import Callable, Mapping

from dockyard.secrets import Vault
from dockyard.seed import names
from dockyard.seed.fingerprint import Fingerprints

ROBOT_SECRET_LENGTH = 32
_ALPHABET = string.ascii_letters + string.digits


def robot_secret() -> str:
    """A Harbor robot secret: letters and digits, with at least one upper, one lower, one digit
    (Harbor's rule for secrets it is given)."""
    while True:
        value = "".join(_random.choice(_ALPHABET) for _ in range(ROBOT_SECRET_LENGTH))
        if any(c.isupper() for c in value) and any(c.islower() for c in value) and any(c.isdigit() for c in value):
            return value


def token() -> str:
    return _random.token_urlsafe(32)


class SeedSecrets:
    def __init__(self, vault: Vault, apply: bool) -> None:
        self.vault = vault
        self.apply = apply
        key = vault.get(names.FINGERPRINT_KEY)
        if key is None:
            key = token()
            if apply:
                vault.set(names.FINGERPRINT_KEY, key)
        self.fingerprints = Fingerprints(key)
        self._planned: set[str] = set()

    def get(self, key: str) -> str | None:
        return self.vault.get(key)

    def fingerprint(self, key: str) -> str | None:
        value = self.vault.get(key)
        return None if value is None else self.fingerprints.of(value)

    def ensure(self, wanted: Mapping[str, Callable[[], str]]) -> list[str]:
        """Generate every missing secret in ``wanted`` and store them with one write.
        Returns the keys that were (or, in a dry run, would be) generated."""
        missing = [k for k in wanted if k not in self.vault]
        if self.apply and missing:
            self.vault.set_many({k: wanted[k]() for k in missing})
        elif missing:
            self._planned.update(missing)
        return missing

    def planned(self, key: str) -> bool:
        """In a dry run: the secret is not there, and a real run would generate it first."""
        return key in self._planned

    def put(self, key: str, value: str) -> None:
        if self.apply:
            self.vault.set(key, value)

    def delete(self, key: str) -> None:
        if self.apply:
            self.vault.delete(key)

    def values(self) -> list[str]:
        """Every value in the vault: what output must never contain."""
        keys = self.vault.keys()
        return [v for k in keys if (v := self.vault.get(k))]

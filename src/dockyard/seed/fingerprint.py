"""Fingerprints of secrets and digests of desired state, so seed can tell what changed without
ever reading a secret back from a tool (most tools never return them) or writing one out.

A fingerprint is an HMAC of the secret under a key kept in the vault: it changes when the secret
changes, and without the key it says nothing about the value. A digest is a plain hash of
non-secret desired state (with the fingerprints of any secrets it involves).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

FINGERPRINT_CHARS = 16


class Fingerprints:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def of(self, secret: str) -> str:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).hexdigest()[:FINGERPRINT_CHARS]


def digest(desired: Any) -> str:
    """A short, stable hash of JSON-able desired state (key order does not matter)."""
    text = json.dumps(desired, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_CHARS]

"""htpasswd lines for nginx's auth_basic: bcrypt, with a salt derived from the account and password.

A random salt would rewrite the file (and reload nginx) on every run; a salt derived from
HMAC-SHA256(password, user) keeps the line stable for as long as the password is, and differs
between accounts. nginx checks the line with the system's crypt(3) (libxcrypt: ``$2b$``).
"""

from __future__ import annotations

import hashlib
import hmac

import bcrypt

_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
COST = 10


def _salt(user: str, password: str) -> bytes:
    digest = hmac.new(password.encode(), user.encode(), hashlib.sha256).digest()
    # bcrypt's salt: 22 characters of its own base64 alphabet (128 bits; the last character carries 4).
    number = int.from_bytes(digest[:16], "big") << 4
    chars = "".join(_BCRYPT_ALPHABET[(number >> (6 * i)) & 63] for i in reversed(range(22)))
    return f"$2b${COST:02d}${chars}".encode()


def line(user: str, password: str) -> str:
    """``user:$2b$...`` for an htpasswd file."""
    if ":" in user or not user:
        raise ValueError(f"htpasswd user {user!r}: must be non-empty and contain no ':'")
    return f"{user}:{bcrypt.hashpw(password.encode(), _salt(user, password)).decode()}"

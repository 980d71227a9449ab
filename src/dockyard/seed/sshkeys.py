"""SSH key pairs for GitLab deploy keys, generated with ``cryptography`` (Ed25519)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def generate() -> str:
    """A new private key in OpenSSH format (what git's ssh and Jenkins/Argo CD credentials take)."""
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()


def public_key(private_openssh: str) -> str:
    """``ssh-ed25519 AAAA...`` for a private key from :func:`generate` (no comment)."""
    key = serialization.load_ssh_private_key(private_openssh.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def same_key(a: str, b: str) -> bool:
    """Two OpenSSH public key lines name the same key (comments ignored)."""
    return a.split()[:2] == b.split()[:2]

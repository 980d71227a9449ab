"""How seed reaches each tool: its URL, admin credential and the CA that verifies its TLS.

* URL: ``dockyard_tools.<tool>.url`` (external mode) or ``https://<hostname>.<domain>`` (install).
* Admin credential: the environment variable named by ``token_env`` when it is set, else the vault
  key ``gitlab.root_token`` (the one ``invoke promote`` reads too) or ``<tool>.admin_token``.
  GitLab takes a personal access token of an administrator; Harbor and Jenkins take
  ``user:secret`` (Harbor: an admin user or system robot; Jenkins: a user and API token).
* TLS is always verified: against ``ca_file`` when given, else the internal CA
  (``<state_dir>/pki/ca.crt``) for installed tools, else the default trust store.

A tool seed cannot use yet (not installed by this version, no credential, not answering) is a
:class:`Unavailable` reason, which the caller reports as skipped; it never passes silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from dockyard.problems import DockyardError, InvalidInput
from dockyard.secrets import Vault
from dockyard.seed import names
from dockyard.spec.model import Platform


@dataclass(frozen=True)
class ToolAccess:
    tool: str
    url: str
    credential: str = field(repr=False)
    verify: str | bool  # a CA bundle path, or True for the default trust store; never False

    def basic_auth(self) -> tuple[str, str]:
        user, sep, secret = self.credential.partition(":")
        if not sep or not user or not secret:
            raise InvalidInput(
                f"{self.tool}: admin credential: expected 'user:secret' "
                f"(store it as vault key {names.admin_token_key(self.tool)} or in the token_env variable)"
            )
        return user, secret


@dataclass(frozen=True)
class Unavailable:
    tool: str
    reason: str


class Unreachable(DockyardError):
    """The tool did not answer (connection refused, no route, timeout): reported as skipped."""


def tool_access(
    platform: Platform,
    tool: str,
    vault: Vault,
    *,
    root: Path,
    state_dir: Path,
    environ: Mapping[str, str] = os.environ,
) -> ToolAccess | Unavailable:
    spec = platform.tools[tool]
    if spec.mode == "install" and not (root / "roles" / "tools" / tool).is_dir():
        return Unavailable(
            tool,
            f"mode install, but this version of Dockyard has no roles/tools/{tool} to install it with, so it "
            f"is not installed; seed an existing one with dockyard_tools.{tool}.mode: external and its url",
        )
    credential = None
    if spec.token_env and environ.get(spec.token_env):
        credential = environ[spec.token_env]
    if credential is None:
        credential = vault.get(names.admin_token_key(tool))
    if not credential:
        where = f"environment variable {spec.token_env} or " if spec.token_env else ""
        return Unavailable(tool, f"no admin credential: set {where}vault key {names.admin_token_key(tool)}")
    verify: str | bool = True
    if spec.ca_file:
        ca = Path(spec.ca_file).expanduser()
        ca = ca if ca.is_absolute() else root / ca
        if not ca.is_file():
            raise InvalidInput(f"dockyard_tools.{tool}.ca_file: {ca}: file not found (give the CA bundle's path)")
        verify = str(ca)
    elif spec.mode == "install":
        ca = state_dir / "pki" / "ca.crt"
        if not ca.is_file():
            return Unavailable(tool, f"the internal CA ({ca}) does not exist yet: run the bootstrap first")
        verify = str(ca)
    return ToolAccess(tool, platform.tool_url(tool), credential, verify)


def raise_for_connection(tool: str, exc: requests.RequestException) -> None:
    """Turn a transport error into the right Dockyard error: unreachable (skip) or TLS (fail)."""
    if isinstance(exc, requests.exceptions.SSLError):
        raise DockyardError(
            f"{tool}: TLS verification failed: {_first_line(exc)} "
            f"(give dockyard_tools.{tool}.ca_file, the CA that signed its certificate)"
        ) from None
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        raise Unreachable(f"{tool}: not reachable: {_first_line(exc)}") from None
    raise DockyardError(f"{tool}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__

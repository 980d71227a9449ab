"""Lookup plugin: a value from Dockyard's vault, for roles (use it under no_log).

    {{ lookup('dockyard_secret', 'gitlab.root_password') }}

Reads ``dockyard_secrets`` (the vault file Ansible loaded). While rendering host configuration
files (``invoke render --configs``: ``dockyard_render_root`` is set) and in check mode before the
key exists, it returns the placeholder ``<vault:KEY>`` instead, so nothing secret is written and a
plan works before the first bootstrap. A key missing in a real run is an error naming it.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = """
name: dockyard_secret
short_description: read a value from Dockyard's vault (placeholder while rendering)
description:
  - Returns dockyard_secrets[KEY]; <vault:KEY> when rendering host configs, or in check mode when absent.
options:
  _terms:
    description: the vault key
    required: true
"""


def placeholder(key: str) -> str:
    return f"<vault:{key}>"


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
        if len(terms) != 1:
            raise AnsibleLookupError("dockyard_secret: give one vault key")
        key = str(terms[0])
        v = variables or {}
        if v.get("dockyard_render_root"):
            return [placeholder(key)]
        vault = self._templar.template(v.get("dockyard_secrets") or {})
        if key in vault:
            return [str(vault[key])]
        if v.get("ansible_check_mode"):
            return [placeholder(key)]
        raise AnsibleLookupError(
            f"dockyard_secret: {key}: not in the vault (invoke bootstrap creates the keys declared in "
            f"dockyard.secret_registry; a value a role produces is stored with the dockyard_vault action)"
        )

"""Ansible module documentation of dockyard_vault. The work happens on the controller, in the action
plugin of the same name (plugins/action/dockyard_vault.py), which uses dockyard.secrets.Vault."""

from __future__ import annotations

DOCUMENTATION = r"""
module: dockyard_vault
short_description: Store a value produced on a host (a token, an escrowed secret) in Dockyard's vault
description:
  - Runs on the controller. Writes KEY into the Ansible-Vault-encrypted vault file (0600) under a lock,
    with the vault password of the run (ANSIBLE_VAULT_PASSWORD_FILE, which invoke sets).
  - The value is never logged or returned. Check mode reports whether the key would be added.
options:
  key: {type: str, required: true, description: "The vault key, e.g. gitlab.root_token."}
  value: {type: str, required: true, description: The secret value (never logged).}
  vault_file:
    type: path
    default: ""
    description: The vault file; default dockyard_vault_file, else group_vars/all/vault.yml of the host's inventory.
"""

RETURN = r"""
vault_file: {description: The vault file written., type: str, returned: always}
"""

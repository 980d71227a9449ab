"""Action plugin dockyard_vault: store a value a role produced on a host in Dockyard's vault.

Documented in plugins/modules/dockyard_vault.py. Runs on the controller; the vault file is locked
while it is rewritten, so hosts of a ``strategy: free`` play can store values at the same time.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from dockyard.problems import DockyardError
from dockyard.secrets import PASSWORD_ENV, VAULT_FILE, Vault

_ARGS = {
    "key": {"type": "str", "required": True},
    "value": {"type": "str", "required": True, "no_log": True},
    "vault_file": {"type": "path", "default": ""},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=_ARGS)
        tv = task_vars or {}
        path = Path(args["vault_file"] or tv.get("dockyard_vault_file") or Path(tv["inventory_dir"]) / VAULT_FILE)
        password_file = os.environ.get(PASSWORD_ENV)
        if not password_file or not Path(password_file).is_file():
            raise AnsibleActionFail(
                f"dockyard_vault: {PASSWORD_ENV} is not set to a password file (run through invoke)"
            )
        if self._task.check_mode:
            return {**result, "changed": args["key"] not in _keys(path, password_file), "vault_file": str(path)}
        path.parent.mkdir(parents=True, exist_ok=True)
        with (path.parent / f".{path.name}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                vault = Vault(path, Path(password_file).read_bytes().strip())
                changed = vault.set(args["key"], args["value"])
            except DockyardError as exc:
                raise AnsibleActionFail(f"dockyard_vault: {exc}") from None
        return {**result, "changed": changed, "vault_file": str(path)}


def _keys(path: Path, password_file: str) -> list[str]:
    try:
        return Vault(path, Path(password_file).read_bytes().strip()).keys()
    except DockyardError:
        return []

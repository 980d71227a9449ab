"""Action plugin dockyard_ingress: the ingress phase of one environment, on the controller.

Documented in plugins/modules/dockyard_ingress.py; the logic is dockyard.ingress.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ansible.plugins.action import ActionBase

from dockyard import ingress
from dockyard.problems import DockyardError
from dockyard.service_names import resolved_from_inventory

_ARGS = {
    "env": {"type": "str", "required": True},
    "spec": {"type": "dict", "required": True},
    "root": {"type": "path", "required": True},
    "helm": {"type": "path", "default": "helm"},
    "helm_timeout": {"type": "str", "default": "10m"},
    "service_addresses": {"type": "dict", "default": {}},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=_ARGS)
        args = json.loads(json.dumps(args))
        try:
            with resolved_from_inventory(args["service_addresses"]):  # the mirror's chart without DNS
                outcome = ingress.run(
                    Path(args["root"]),
                    args["spec"],
                    args["env"],
                    helm=args["helm"],
                    timeout=args["helm_timeout"],
                    check=bool(self._task.check_mode),
                )
        except DockyardError as exc:
            return {**result, "failed": True, "msg": str(exc)}
        result.update(changed=outcome.changed, skipped_reason=outcome.skipped_reason, messages=outcome.messages)
        return result

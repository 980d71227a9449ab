"""Action plugin dockyard_argocd: the argocd phase of one environment, on the controller.

Documented in plugins/modules/dockyard_argocd.py; the logic is dockyard.gitops.phase.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ansible.plugins.action import ActionBase

from dockyard.gitops import phase
from dockyard.problems import DockyardError
from dockyard.service_names import resolved_from_inventory

_ARGS = {
    "env": {"type": "str", "required": True},
    "spec": {"type": "dict", "required": True},
    "root": {"type": "path", "required": True},
    "inventory_source": {"type": "path", "required": True},
    "install_chart": {"type": "bool", "default": True},
    "chart_ref": {"type": "str", "default": ""},
    "helm": {"type": "path", "default": "helm"},
    "helm_timeout": {"type": "str", "default": "10m"},
    "api_timeout_s": {"type": "float", "default": 5},
    "service_addresses": {"type": "dict", "default": {}},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=_ARGS)
        args = json.loads(json.dumps(args))  # plain types, as the generators expect
        options = phase.PhaseOptions(
            check=bool(self._task.check_mode),
            install_chart=args["install_chart"],
            chart_ref=args["chart_ref"],
            helm=args["helm"],
            helm_timeout=args["helm_timeout"],
            api_timeout_s=args["api_timeout_s"],
        )
        try:
            with resolved_from_inventory(args["service_addresses"]):  # the mirror's charts without DNS
                outcome = phase.run(
                    Path(args["root"]),
                    args["spec"],
                    args["env"],
                    phase.inventory_tree_of(Path(args["inventory_source"])),
                    options=options,
                    service_addresses=args["service_addresses"],
                )
        except DockyardError as exc:
            return {**result, "failed": True, "msg": str(exc)}
        result.update(
            changed=outcome.changed,
            skipped_reason=outcome.skipped_reason,
            messages=outcome.messages,
            waiting_on_seed=outcome.waiting_on_seed,
        )
        if outcome.notes:
            result["warnings"] = [f"argocd: env {args['env']}: {note}" for note in outcome.notes]
        if self._task.diff and outcome.diffs:
            result["diff"] = [{"prepared": d} for d in outcome.diffs]
        return result

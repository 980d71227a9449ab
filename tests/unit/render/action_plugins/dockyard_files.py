"""TEST ONLY: stands in for the dockyard_files module while unit tests render the roles' configs.yml:
writes each file to $DOCKYARD_RENDER_OUT/<host>/<absolute path> on the controller instead of the
host, and reports no change (so no handler runs). `invoke render --configs` does the same for
operators through the product's own render mode."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        host = (task_vars or {})["inventory_hostname"]
        out = Path(os.environ["DOCKYARD_RENDER_OUT"]) / host
        for spec in self._task.args["files"]:
            path = out / str(spec["path"]).lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(spec["content"])
            mode = spec.get("mode", "0644")
            path.with_name(path.name + ".mode").write_text(str(mode))
        result.update(changed=False, changed_files=[])
        return result

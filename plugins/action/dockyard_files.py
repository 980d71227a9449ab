"""Action plugin dockyard_files: the module of the same name on the host, or, while rendering host
configuration files (``invoke render --configs`` sets ``dockyard_render_root``), the same files
written on the controller under ``<dockyard_render_root>/<inventory_hostname>/<absolute path>``.

One code path for what a host gets and what an operator reviews: the role's templates and variables
are the same; only where the bytes land differs. Rendering never touches a host.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from dockyard.files import write_atomic


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        tv = task_vars or {}
        render_root = tv.get("dockyard_render_root")
        if not render_root:
            return self._execute_module(module_name="dockyard_files", module_args=self._task.args, task_vars=tv)
        result = super().run(tmp, tv)
        host_root = Path(str(render_root)) / str(tv["inventory_hostname"])
        written: list[str] = []
        for spec in self._task.args.get("files") or []:
            path = str(spec["path"])
            if not os.path.isabs(path):
                raise AnsibleActionFail(f"dockyard_files: {path}: not an absolute path")
            target = host_root / path.lstrip("/")
            content = str(spec["content"]).encode()
            mode = int(str(spec.get("mode", "0644")), 8)
            if target.exists() and target.read_bytes() == content and (target.stat().st_mode & 0o7777) == mode:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, content, mode)
            written.append(path)
        # changed stays false: rendering notifies no handler (a handler would act on the controller).
        return {**result, "changed": False, "rendered_files": written, "rendered_to": str(host_root)}

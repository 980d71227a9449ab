"""Action plugin dockyard_render_facts: the host facts templates use, assumed for a supported host
(Debian 12, amd64, systemd) wherever the fact cache has none, so ``invoke render --configs`` renders
without reaching a host. Cached facts win. Documented in plugins/modules/dockyard_render_facts.py."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

ASSUMED = {
    "architecture": "x86_64",
    "service_mgr": "systemd",
    "distribution": "Debian",
    "distribution_major_version": "12",
    "distribution_release": "bookworm",
    "os_family": "Debian",
    "pkg_mgr": "apt",
    "virtualization_role": "host",
    "virtualization_type": "",
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        known = (task_vars or {}).get("ansible_facts") or {}
        assumed = {k: v for k, v in ASSUMED.items() if k not in known}
        return {**result, "changed": False, "ansible_facts": assumed, "assumed": sorted(assumed)}

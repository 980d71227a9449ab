"""Action plugin dockyard_gitlab_plan: which GitLab package to install, and the upgrade hops.

Documented in plugins/modules/dockyard_gitlab_plan.py; the rules live in dockyard.tools.gitlab_upgrade.
Runs on the controller (it reads the merged catalogue); never changes anything.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from dockyard import catalogue
from dockyard.problems import DockyardError
from dockyard.spec.variables import build, has_mirror, spec_from
from dockyard.tools import gitlab_upgrade

_ARGS = {
    "dpkg_status": {"type": "str", "default": ""},
    "os_release": {"type": "str", "required": True},
    "arch": {"type": "str", "required": True},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=_ARGS)
        tv = task_vars or {}
        try:
            spec = spec_from(tv, self._templar.template)
            source = catalogue.Source.of(build(spec), has_mirror(self._templar.template(tv.get("groups", {}))))
            found = plan(spec["dockyard_catalogue"], source, args)
        except DockyardError as exc:
            raise AnsibleActionFail(str(exc)) from None
        # What `invoke plan` prints (check mode: an upgrade or a first install would change the host).
        found["dockyard_plan"] = describe(found)
        pending = bool(found["hops"]) or not found["installed"]
        return {**result, "changed": bool(self._task.check_mode) and pending, **found}


def describe(found: dict[str, Any]) -> str:
    if not found["installed"]:
        return f"gitlab: install {found['package']} {found['version']}"
    if not found["hops"]:
        return f"gitlab: {found['package']} {found['installed']} installed, as pinned"
    hops = " -> ".join(f"{h['version']} ({h['reason']})" for h in found["hops"])
    return f"gitlab: upgrade {found['installed']} -> {hops}, backup first"


def plan(cat: dict[str, Any], source: catalogue.Source, args: dict[str, Any]) -> dict[str, Any]:
    comp = cat.get("gitlab") or {}
    edition = str(comp.get("edition") or "ce")
    target = str(comp.get("version") or "")
    package = f"gitlab-{edition}"
    packages: dict[str, dict[str, Any]] = {}
    for art_id, entry in (comp.get("artefacts") or {}).items():
        if not isinstance(entry, dict) or entry.get("kind") != "deb" or entry.get("package") != package:
            continue
        if entry.get("arch") != args["arch"] or entry.get("os_release") != args["os_release"]:
            continue
        resolved = catalogue.resolve(catalogue.artefact(cat, "gitlab", art_id), source)
        packages[resolved["version"]] = resolved
    if target not in packages:
        raise gitlab_upgrade.UpgradeRefused(
            f"dockyard_catalogue.gitlab: no {package} {target} package for {args['os_release']} {args['arch']} "
            f"(add an artefact of kind deb with package {package}, os_release {args['os_release']} and "
            f"arch {args['arch']})"
        )
    installed = installed_packages(args["dpkg_status"])
    other = sorted(set(installed) - {package})
    if other:
        raise gitlab_upgrade.UpgradeRefused(
            f"gitlab: {other[0]} {installed[other[0]]} is installed, the catalogue asks for {package}: "
            f"Dockyard does not switch editions (set dockyard_catalogue.gitlab.edition to match the host)"
        )
    hops = gitlab_upgrade.plan(installed.get(package, ""), target, packages)
    return {
        "edition": edition,
        "package": package,
        "version": target,
        "installed": installed.get(package, ""),
        "artefact": packages[target],
        "hops": [{**packages[h.version], "reason": h.reason} for h in hops],
    }


def installed_packages(dpkg_status: str) -> dict[str, str]:
    """``package|status|version`` lines (dpkg-query) -> the installed packages and their versions."""
    found = {}
    for line in dpkg_status.splitlines():
        name, _, rest = line.partition("|")
        status, _, version = rest.partition("|")
        if status == "installed" and version:
            found[name] = version
    return found

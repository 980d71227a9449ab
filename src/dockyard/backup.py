"""``invoke backup --env ENV --component NAME``: back a tool up off its host, onto the controller.

One shape for every component. Python picks the controller directory of this backup
(``<state_dir>/backups/<env>/<component>/<UTC timestamp>``) and measures the last backup of the
same component there; ``playbooks/backup.yml`` runs the component's play (tag = component), whose
role refuses to start when the host lacks the space that last backup took, makes the backup and
fetches it into that directory. The command then prints the directory and what is in it.

A component adds itself with one entry in :data:`COMPONENTS` and one play in playbooks/backup.yml
(tagged with its name) that reads ``dockyard_backup_dir`` and ``dockyard_backup_last_bytes``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dockyard import cli, playbook
from dockyard.problems import DockyardError, InvalidInput

PLAYBOOK = "backup.yml"

# component -> the inventory group whose hosts hold its data
COMPONENTS: dict[str, str] = {"gitlab": "gitlab", "harbor": "harbor", "jenkins": "jenkins"}


def backups_root(root: Path, env: str, component: str) -> Path:
    return cli.state_dir(root) / "backups" / env / component


def last_backup(folder: Path) -> Path | None:
    """The newest complete backup of a component (a folder with files in it), if any."""
    if not folder.is_dir():
        return None
    done = [p for p in folder.iterdir() if p.is_dir() and any(f.is_file() for f in p.rglob("*"))]
    return max(done, key=lambda p: p.name) if done else None


def size_of(folder: Path | None) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder else 0


def new_backup_dir(folder: Path, now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return folder / stamp


@cli.guarded
def backup(root: Path, inventories: str | None, env: str, component: str) -> int:
    if component not in COMPONENTS:
        raise InvalidInput(f"--component {component}: unknown component (use one of {', '.join(COMPONENTS)})")
    inv, platform = cli.load(root, inventories, env)
    group = COMPONENTS[component]
    tool = platform.tools.get(component)
    if tool is not None and tool.mode != "install":
        raise InvalidInput(
            f"dockyard_tools.{component}.mode: {tool.mode}: Dockyard backs up only what it installed "
            f"(back the external {component} up with its own tools)"
        )
    if not inv.groups.get(group):
        raise InvalidInput(f"inventory of env {env}: group '{group}' has no hosts (nothing to back up)")
    folder = backups_root(root, env, component)
    last = last_backup(folder)
    dest = new_backup_dir(folder)
    extra = {
        "dockyard_backup_dir": str(dest),
        "dockyard_backup_last_bytes": size_of(last),
        "dockyard_state_dir": str(cli.state_dir(root)),
    }
    cmd = playbook.command(root, inv.sources, PLAYBOOK, tags=component, extra_vars=extra)
    cli.out(f"backup {component} (env {env}) into {dest}")
    rc = playbook.run(cmd, root)
    if rc != 0:
        cli.err(f"backup FAILED: ansible-playbook exited {rc}; nothing usable in {dest}")
        return rc
    files = sorted(p for p in dest.rglob("*") if p.is_file()) if dest.is_dir() else []
    if not files:
        raise DockyardError(f"backup FAILED: the playbook succeeded but {dest} holds no file")
    for f in files:
        cli.out(f"  {f.relative_to(dest)}  {f.stat().st_size} bytes")
    cli.out(f"backup OK: {component}: {len(files)} file(s), {size_of(dest)} bytes in {dest}")
    return 0

"""``invoke render --configs``: every configuration file the roles would write to every host, on the
controller, for review: ``<out>/<env>/hosts/<host>/<absolute path>``.

It runs ``playbooks/render_configs.yml``, which includes each role's ``tasks/configs.yml`` with the
same variables as a bootstrap; the ``dockyard_files`` action plugin writes the files locally instead
of to the host, and vault values appear as ``<vault:KEY>``. Nothing connects to a host.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from dockyard import playbook
from dockyard.inventory import LoadedInventory
from dockyard.problems import DockyardError

PLAYBOOK = "render_configs.yml"


def hosts_dir(out_dir: Path, env: str) -> Path:
    return out_dir / env / "hosts"


def render(root: Path, inv: LoadedInventory, out_dir: Path) -> list[Path]:
    """Render one environment's host files; returns every file now under its hosts directory."""
    target = hosts_dir(out_dir, inv.env).resolve()
    cmd = playbook.command(root, inv.sources, PLAYBOOK, extra_vars={"dockyard_render_root": str(target)})
    proc = subprocess.run(cmd, cwd=root, env=playbook.ansible_env(root), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        failed = [line.strip() for line in proc.stdout.splitlines() if "FAILED" in line or '"msg"' in line]
        raise DockyardError(
            f"render --configs: env {inv.env}: ansible-playbook {PLAYBOOK} exited {proc.returncode}: "
            + (" | ".join(failed[-3:]) or proc.stderr.strip().splitlines()[-1:][0] if proc.stderr.strip() else "")
        )
    return sorted(p for p in target.rglob("*") if p.is_file()) if target.exists() else []

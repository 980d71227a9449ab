"""`invoke plan` before the first bootstrap, on a controller that has no internal CA yet: it must
work and show the CA and its trust files as to be created (check mode changes nothing).

The one host is this machine over a local connection, limited to the internal_ca phase, so the
check-mode run touches nothing outside the test's own state folder.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

from tests.cli_runner import invoke

ROOT = Path(__file__).resolve().parents[2]


def test_plan_before_the_first_bootstrap_shows_the_ca_as_to_be_created(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = tmp_path / "inventories" / "ctl"
    (env / "group_vars" / "all").mkdir(parents=True)
    host = {"ansible_host": "127.0.0.1", "ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    groups = ("gitlab", "harbor", "jenkins", "kube_control_plane")
    (env / "hosts.yml").write_text(
        yaml.safe_dump({"all": {"children": {g: {"hosts": {"ctl-1": dict(host)}} for g in groups}}})
    )
    for name in ("dockyard.yml", "preflight.yml", "versions.yml"):
        shutil.copy(ROOT / "inventories" / "platform" / "group_vars" / "all" / name, env / "group_vars" / "all")
    (env / "group_vars" / "all" / "zz-ctl.yml").write_text(
        yaml.safe_dump(
            {
                "dockyard_env": "ctl",
                "dockyard_environments": {"ctl": {"sync": "auto"}},
                "dockyard_state_dir": str(state),
                "dockyard_dns": True,
            }
        )
    )
    proc = invoke("plan", "--env", "ctl", "--inventories", str(env.parent), "--tags", "internal_ca", timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "would change:" in proc.stdout and "would change: nothing" not in proc.stdout
    assert "Keep the CA and server certificates on the controller" in proc.stdout
    assert "Install the CA into the system trust store" in proc.stdout
    assert "would fail" not in proc.stdout
    assert not (state / "pki" / "ca.key").exists()  # check mode created nothing

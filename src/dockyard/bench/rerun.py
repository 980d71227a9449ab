"""`invoke bench rerun`: how long the base phases take on 3 fresh local hosts, first converge and a
no-change rerun, with Dockyard's tuned ansible.cfg and with Ansible's defaults."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from dockyard import playbook
from dockyard.bench import benchmark
from dockyard.localhosts import hosts as local

PHASES = "common,internal_ca,containerd"
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


@dataclass
class Run:
    seconds: float
    changed: int
    failed: int


def _defaults_cfg(root: Path, path: Path) -> Path:
    """Ansible's defaults, plus only what is needed to find Dockyard's roles and plugins."""
    path.write_text(
        "[defaults]\n"
        f"roles_path = {root / 'roles'}:{root / 'roles' / 'tools'}:{root / 'roles' / 'kubernetes'}\n"
        f"library = {root / 'plugins' / 'modules'}\n"
        f"lookup_plugins = {root / 'plugins' / 'lookup'}\n"
    )
    return path


def _play(root: Path, inventory: Path, cfg: Path, state: Path) -> Run:
    cmd = playbook.command(
        root, [inventory], "bootstrap.yml", tags=PHASES, extra_vars={"dockyard_state_dir": str(state)}
    )
    env = {**os.environ, "ANSIBLE_CONFIG": str(cfg), "ANSIBLE_NOCOLOR": "1"}
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    recaps = RECAP.findall(proc.stdout)
    if proc.returncode != 0 or not recaps:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise RuntimeError(f"ansible-playbook exited {proc.returncode}:\n{tail}")
    return Run(seconds, sum(int(r[1]) for r in recaps), sum(int(r[3]) + int(r[2]) for r in recaps))


@benchmark("rerun", "common+internal_ca+containerd on 3 fresh hosts: first converge and rerun, tuned vs defaults")
def rerun(root: Path, options: dict[str, str]) -> int:
    state = root / ".dockyard" / "bench"
    lab = local.Lab("bench", state / "inventory" / local.ENV)
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    configs = {"tuned": root / "ansible.cfg", "defaults": _defaults_cfg(root, state / "ansible-defaults.cfg")}
    results: dict[str, tuple[Run, Run]] = {}
    try:
        for name, cfg in configs.items():
            local.down(root, root / ".dockyard", lab=lab, say=lambda _m: None, stop_engine=False)
            hosts = local.up(root, root / ".dockyard", 3, lab=lab, say=lambda _m: None)
            for h in hosts:  # no facts cached from an earlier host of the same name
                (root / ".cache" / "ansible-facts" / h.name).unlink(missing_ok=True)
            pki = state / f"state-{name}"
            first = _play(root, lab.inventory / "hosts.yml", cfg, pki)
            again = _play(root, lab.inventory / "hosts.yml", cfg, pki)
            results[name] = (first, again)
            print(
                f"{name:9} first converge {first.seconds:6.1f}s (changed={first.changed})   "
                f"rerun {again.seconds:6.1f}s (changed={again.changed}, failed={again.failed})",
                flush=True,
            )
    finally:
        local.down(root, root / ".dockyard", lab=lab, say=lambda _m: None, stop_engine=False)
    tuned, defaults = results["tuned"][1], results["defaults"][1]
    speedup = defaults.seconds / tuned.seconds
    print(f"no-change rerun: tuned {tuned.seconds:.1f}s vs defaults {defaults.seconds:.1f}s = {speedup:.1f}x faster")
    ok = tuned.changed == 0 and defaults.changed == 0 and tuned.seconds < 30 and speedup >= 2
    print("targets (rerun < 30 s, >= 2x faster than defaults, changed=0): " + ("met" if ok else "NOT met"))
    return 0 if ok else 1

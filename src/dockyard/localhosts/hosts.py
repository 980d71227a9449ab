"""`invoke hosts up|down|status`: N systemd Debian hosts as containers, and the `local` inventory.

Host 1 carries the platform tier (gitlab, harbor, jenkins, mirror), host 2 the control plane,
hosts 3..N are workers (fewer hosts double up). Everything created is labelled so `down` removes
exactly that and nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from dockyard.localhosts import engine, image
from dockyard.localhosts.engine import docker
from dockyard.problems import DockyardError, InvalidInput

ENV = "local"
LABEL = "dev.dockyard.local"
PREFIX = "dockyard-local-"  # container names of the default lab
DEFAULT_COUNT = 3
MAX_COUNT = 8
DOMAIN = "dockyard.test"  # RFC 2606: reserved for testing, never resolves on the internet
# Spec files shared with the platform inventory (linked, so there is one source of truth).
SHARED_SPEC_FILES = ("dockyard.yml", "versions.yml")
OVERRIDES_FILE = "zz-local.yml"  # sorts after the linked files, so its values win

Say = Callable[[str], None]


@dataclass(frozen=True)
class LocalHost:
    name: str
    address: str
    state: str


@dataclass(frozen=True)
class Lab:
    """One set of local hosts: its container names, network, label and inventory folder."""

    name: str
    inventory: Path

    @property
    def prefix(self) -> str:
        return f"dockyard-{self.name}-"

    @property
    def network(self) -> str:
        return f"dockyard-{self.name}"

    @property
    def label(self) -> str:
        return f"{LABEL}={self.name}"


def default_lab(root: Path) -> Lab:
    return Lab("local", root / "inventories" / ENV)


def state_paths(state_dir: Path) -> dict[str, Path]:
    ssh = state_dir / "ssh"
    return {"ssh": ssh, "key": ssh / "id_ed25519", "known_hosts": ssh / "known_hosts"}


def groups_for(count: int, prefix: str = PREFIX) -> dict[str, list[str]]:
    names = [f"{prefix}{i}" for i in range(1, count + 1)]
    platform = names[0]
    control = names[1] if count > 1 else names[0]
    workers = names[2:] if count > 2 else []
    return {
        "gitlab": [platform],
        "harbor": [platform],
        "jenkins": [platform],
        "mirror": [platform],
        "kube_control_plane": [control],
        "kube_node": workers,
    }


def up(
    root: Path, state_dir: Path, count: int = DEFAULT_COUNT, *, say: Say = print, lab: Lab | None = None
) -> list[LocalHost]:
    lab = lab or default_lab(root)
    if not 1 <= count <= MAX_COUNT:
        raise InvalidInput(f"--count {count}: out of range (give 1 to {MAX_COUNT} hosts)")
    installed = engine.ensure_packages()
    if installed:
        say(f"hosts: installed {' '.join(installed)}")
    if engine.ensure_running(state_dir):
        say(f"hosts: started dockerd (pid in {state_dir / 'dockerd.pid'})")
    tag, built = image.ensure(state_dir / "image-build", state_dir / "image-build.log")
    say(f"hosts: base image {tag} ({'built' if built else 'reused'})")
    paths = state_paths(state_dir)
    _ensure_key(paths["key"])
    _ensure_network(lab)
    wanted = [f"{lab.prefix}{i}" for i in range(1, count + 1)]
    for extra in sorted(set(_containers(lab)) - set(wanted)):
        docker("rm", "-f", extra)
        say(f"hosts: removed {extra} (beyond --count {count})")
    for name in wanted:
        _ensure_container(lab, name, tag, paths["key"].with_suffix(".pub"), say)
    hosts = _wait_for_ssh(lab, wanted)
    known_hosts = paths["known_hosts"].with_name(f"known_hosts-{lab.name}")
    _write_known_hosts(hosts, known_hosts)
    write_inventory(root, lab.inventory, hosts, groups_for(count, lab.prefix), {**paths, "known_hosts": known_hosts})
    say(f"hosts: {len(hosts)} host(s) up; inventory written to {_shown(lab.inventory)}/")
    return hosts


def down(
    root: Path,
    state_dir: Path,
    *,
    purge_image: bool = False,
    say: Say = print,
    lab: Lab | None = None,
    stop_engine: bool = True,
) -> None:
    """Remove the lab's containers, network and inventory; stop dockerd if this tool started it and
    no other Dockyard lab still runs on it."""
    lab = lab or default_lab(root)
    if not engine.running():
        say("hosts: no docker engine running; nothing to remove")
    else:
        for name in _containers(lab):
            docker("rm", "-f", name)
            say(f"hosts: removed {name}")
        if docker("network", "inspect", lab.network, check=False).returncode == 0:
            docker("network", "rm", lab.network)
            say(f"hosts: removed network {lab.network}")
        if purge_image:
            for line in docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", image.REPOSITORY).stdout.split():
                docker("rmi", line)
                say(f"hosts: removed image {line}")
    if lab.inventory.exists():
        kept = _remove_inventory(lab.inventory)
        if kept:
            say(
                f"hosts: removed {_shown(lab.inventory)}/ except {_shown(kept)} (kept: the lab's secrets, "
                f"reused by the next `hosts up`; delete it to start with new ones)"
            )
        else:
            say(f"hosts: removed {_shown(lab.inventory)}/")
    others = engine.running() and docker("ps", "-aq", "--filter", f"label={LABEL}").stdout.strip()
    if stop_engine and not others and engine.stop_if_started(state_dir):
        say("hosts: stopped the dockerd this tool started")


def status(root: Path, say: Say = print, lab: Lab | None = None) -> list[LocalHost]:
    lab = lab or default_lab(root)
    if not engine.running():
        say("hosts: docker engine not running")
        return []
    hosts = [_inspect(lab, name) for name in _containers(lab)]
    if not hosts:
        say("hosts: none (invoke hosts up)")
    for h in hosts:
        say(f"{h.name:20} {h.address:16} {h.state}")
    return hosts


# --------------------------------------------------------------------------------------------


def _ensure_key(key: Path) -> None:
    if key.exists():
        return
    key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dockyard-local", "-f", str(key)], check=True)
    os.chmod(key, 0o600)


def _ensure_network(lab: Lab) -> None:
    if docker("network", "inspect", lab.network, check=False).returncode != 0:
        docker("network", "create", "--label", lab.label, lab.network)


def _containers(lab: Lab) -> list[str]:
    out = docker("ps", "-a", "--filter", f"label={lab.label}", "--format", "{{.Names}}").stdout
    return sorted(out.split())


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _ensure_container(lab: Lab, name: str, tag: str, public_key: Path, say: Say) -> None:
    """Reuse the container only if it runs this base image and trusts this machine's key (a
    container of another checkout with the same name would not let us in)."""
    fmt = (
        "{{.Config.Image}} {{.State.Running}} "
        '{{range .Mounts}}{{if eq .Destination "/root/.ssh/authorized_keys"}}{{.Source}}{{end}}{{end}}'
    )
    current = docker("inspect", "--format", fmt, name, check=False)
    if current.returncode == 0:
        img, running, *mounted = current.stdout.split()
        ours = img == tag and mounted == [str(public_key)]
        if ours and running == "true":
            return
        if ours:
            docker("start", name)
            say(f"hosts: started {name}")
            return
        docker("rm", "-f", name)
        say(f"hosts: replacing {name} ({'base image changed' if img != tag else 'made for another SSH key'})")
    docker(
        "run",
        "--detach",
        "--name",
        name,
        "--hostname",
        name,
        "--label",
        lab.label,
        "--network",
        lab.network,
        # systemd as PID 1 shuts down cleanly (and quickly) on SIGRTMIN+3, not on SIGTERM
        "--stop-signal",
        "SIGRTMIN+3",
        "--cgroupns=host",
        "--volume",
        "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/run/lock",
        "--volume",
        f"{public_key}:/root/.ssh/authorized_keys:ro",
        tag,
    )
    say(f"hosts: created {name}")


def _inspect(lab: Lab, name: str) -> LocalHost:
    data = json.loads(docker("inspect", name).stdout)[0]
    networks = data["NetworkSettings"]["Networks"]
    address = networks.get(lab.network, {}).get("IPAddress", "")
    return LocalHost(name, address, data["State"]["Status"])


def _wait_for_ssh(lab: Lab, names: list[str], timeout_s: float = 60) -> list[LocalHost]:
    deadline = time.monotonic() + timeout_s
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            probe = docker("exec", name, "systemctl", "is-active", "ssh", check=False)
            keys = docker("exec", name, "sh", "-c", "ls /etc/ssh/ssh_host_ed25519_key.pub", check=False)
            if probe.stdout.strip() == "active" and keys.returncode == 0:
                pending.discard(name)
        if pending:
            time.sleep(0.5)
    if pending:
        raise DockyardError(f"hosts: sshd did not come up on {', '.join(sorted(pending))} within {timeout_s:.0f}s")
    return [_inspect(lab, n) for n in names]


def _write_known_hosts(hosts: list[LocalHost], path: Path) -> None:
    lines = []
    for h in hosts:
        keys = docker("exec", h.name, "sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub").stdout.splitlines()
        for key in (line.split() for line in keys if line.strip()):
            lines.append(f"{h.address} {key[0]} {key[1]}")
            lines.append(f"{h.name} {key[0]} {key[1]}")
    path.write_text("\n".join(lines) + "\n")
    os.chmod(path, 0o644)


def write_inventory(
    root: Path, inv: Path, hosts: list[LocalHost], groups: dict[str, list[str]], paths: dict[str, Path]
) -> None:
    """An ordinary, self-contained inventory: the platform tier and a one-control-plane cluster."""
    address = {h.name: h.address for h in hosts}
    connection = {
        "ansible_user": "root",
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_ssh_private_key_file": str(paths["key"]),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={paths['known_hosts']} -o StrictHostKeyChecking=yes",
    }
    doc = {
        "all": {
            "vars": connection,
            "children": {
                group: {"hosts": {n: {"ansible_host": address[n]} for n in members}} if members else {}
                for group, members in groups.items()
            },
        }
    }
    group_vars = inv / "group_vars" / "all"
    group_vars.mkdir(parents=True, exist_ok=True)
    header = (
        "---\n# Written by `invoke hosts up` for the local test hosts (containers on this machine).\n"
        "# Rewritten on every `hosts up`; `hosts down` removes it.\n"
    )
    _write_if_changed(inv / "hosts.yml", header + yaml.safe_dump(doc, sort_keys=False))
    for name in SHARED_SPEC_FILES:
        link = group_vars / name
        target = Path(os.path.relpath(root / "inventories" / "platform" / "group_vars" / "all" / name, group_vars))
        if not link.is_symlink() or Path(os.readlink(link)) != target:
            link.unlink(missing_ok=True)
            link.symlink_to(target)
    _write_if_changed(group_vars / OVERRIDES_FILE, _overrides())


def _overrides() -> str:
    small = {"cpus": 1, "memory_mb": 512, "disk_gb": 5}
    overrides = {
        "dockyard_env": ENV,
        "dockyard_domain": DOMAIN,
        "dockyard_dns": False,
        "dockyard_airgap": False,
        "dockyard_environments": {ENV: {"sync": "auto"}},
        "dockyard_preflight_minimums": {
            g: small for g in ("gitlab", "harbor", "jenkins", "mirror", "kube_control_plane", "kube_node")
        },
        # The test hosts install containerd from Debian (no internet for upstream tarballs here).
        "containerd_install_method": "apt",
        # Phases that need vendor artefacts this lab has no source for (kubeadm and kubelet; the GitLab,
        # Harbor and Jenkins packages): their roles run against stand-ins in their own Molecule
        # scenarios (tests/molecule); wiring those stand-ins into the lab is still to do.
        "dockyard_skip_phases": {
            phase: "the local lab has no source for this phase's vendor artefacts (its roles run against "
            "stand-ins in tests/molecule)"
            for phase in ("kubernetes", "cni", "ingress", "tools")
        },
    }
    return (
        "---\n# The local environment's own settings. This file sorts after the spec files linked from\n"
        "# inventories/platform, so its values win. The preflight minimums are lowered to what one\n"
        "# small machine shares between its container hosts: this is a lab, not a sized platform.\n"
        + yaml.safe_dump(overrides, sort_keys=False)
    )


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _remove_inventory(inv: Path) -> Path | None:
    """Remove the inventory but its vault; returns the vault when it was kept."""
    vault = inv / "group_vars" / "all" / "vault.yml"
    for path in sorted(inv.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path == vault:
            continue  # secrets are not ours to throw away; keep them for the next `hosts up`
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return vault if vault.exists() else None

"""`invoke hosts up|down|status`: N systemd Debian hosts as containers, and the `local` inventory.

With 6 hosts or more (the default), each platform service has a host of its own (1 mirror,
2 gitlab, 3 harbor, 4 jenkins: each serves :443), host 5 is the control plane and 6..N are workers;
fewer hosts double up (host 1 the platform tier, host 2 the control plane, 3..N workers). Harbor's
hosts run Docker inside. The default lab is AIR-GAPPED: its network is Docker's `--internal` (no
route out), and the site's OS mirror is an apt-cacher-ng container on it that alone reaches
Debian's archive (as an air-gapped site's own OS mirror does). Everything created is labelled so
`down` removes exactly that and nothing else.
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
DEFAULT_COUNT = 6
FULL_LAB = 6  # from this many hosts on, each platform service gets a host of its own
MAX_COUNT = 8
DOMAIN = "dockyard.test"  # RFC 2606: reserved for testing, never resolves on the internet
# Spec files shared with the platform inventory (linked, so there is one source of truth).
SHARED_SPEC_FILES = ("dockyard.yml", "versions.yml")
OVERRIDES_FILE = "zz-local.yml"  # sorts after the linked files, so its values win
OS_MIRROR_LABEL = f"{LABEL}.os-mirror"
OS_MIRROR_PORT = 3142
# The site's time server in the lab (chrony is configured, not started, inside containers).
LAB_TIME_SERVER = f"mirror.{DOMAIN}"
FLAGS_LABEL = f"{LABEL}.flags"
# Every lab host: CAP_SYS_ADMIN, so systemd's sandboxing (PrivateTmp, ProtectSystem: Debian's
# haproxy unit, for one) can make its mount namespaces as on a VM (without it: status=226/NAMESPACE).
HOST_FLAGS = ("--cap-add", "SYS_ADMIN")
# Docker inside a host (Harbor): ../shared/notes/target-hosts.md, "Docker Engine inside a lab host".
DOCKER_INSIDE = ("--cap-add", "NET_ADMIN", "--security-opt", "seccomp=unconfined", "--volume", "/var/lib/docker")

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
    internal: bool = False  # an --internal network (no route out) and an OS mirror on it

    @property
    def os_mirror(self) -> str:
        return f"dockyard-{self.name}-os-mirror"

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
    return Lab("local", root / "inventories" / ENV, internal=True)


def state_paths(state_dir: Path) -> dict[str, Path]:
    ssh = state_dir / "ssh"
    return {"ssh": ssh, "key": ssh / "id_ed25519", "known_hosts": ssh / "known_hosts"}


def groups_for(count: int, prefix: str = PREFIX) -> dict[str, list[str]]:
    names = [f"{prefix}{i}" for i in range(1, count + 1)]
    if count >= FULL_LAB:
        mirror, gitlab, harbor, jenkins, control, *workers = names
        return {
            "gitlab": [gitlab],
            "harbor": [harbor],
            "jenkins": [jenkins],
            "mirror": [mirror],
            "kube_control_plane": [control],
            "kube_node": workers,
        }
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
    _ensure_network(lab, say)
    apt_proxy = _ensure_os_mirror(lab, tag, say) if lab.internal else None
    wanted = [f"{lab.prefix}{i}" for i in range(1, count + 1)]
    for extra in sorted(set(_containers(lab)) - set(wanted)):
        docker("rm", "-f", extra)
        say(f"hosts: removed {extra} (beyond --count {count})")
    groups = groups_for(count, lab.prefix)
    for name in wanted:
        _ensure_container(lab, name, tag, paths["key"].with_suffix(".pub"), say, docker_inside=name in groups["harbor"])
    hosts = _wait_for_ssh(lab, wanted)
    if apt_proxy:
        for name in wanted:
            _use_os_mirror(name, apt_proxy)
        for name in wanted:  # one at a time: the first fills the mirror's cache for the others
            if _refresh_package_lists(name):
                say(f"hosts: {name}: package lists refreshed from the OS mirror")
    known_hosts = paths["known_hosts"].with_name(f"known_hosts-{lab.name}")
    _write_known_hosts(hosts, known_hosts)
    write_inventory(root, lab.inventory, hosts, groups, {**paths, "known_hosts": known_hosts})
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
        for name in [*_containers(lab), *_os_mirrors(lab)]:
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
    if lab.name == ENV:
        from dockyard.localhosts import feed  # noqa: PLC0415

        if feed.stop(root):
            say("hosts: stopped the lab's fake internet")
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


def _ensure_network(lab: Lab, say: Say) -> None:
    found = docker("network", "inspect", "--format", "{{.Internal}}", lab.network, check=False)
    if found.returncode == 0 and found.stdout.strip() == str(lab.internal).lower():
        return
    if found.returncode == 0:  # made by an earlier version with the other kind of network
        for name in [*_containers(lab), *_os_mirrors(lab)]:
            docker("rm", "-f", name)
        docker("network", "rm", lab.network)
        say(f"hosts: replaced network {lab.network} ({'internal now' if lab.internal else 'not internal now'})")
    docker("network", "create", *(["--internal"] if lab.internal else []), "--label", lab.label, lab.network)


def _os_mirrors(lab: Lab) -> list[str]:
    out = docker("ps", "-a", "--filter", f"label={OS_MIRROR_LABEL}={lab.name}", "--format", "{{.Names}}").stdout
    return sorted(out.split())


def _ensure_os_mirror(lab: Lab, tag: str, say: Say) -> str:
    """The site's OS mirror of an air-gapped lab: apt-cacher-ng in a container on Docker's default
    bridge (the only way out, to Debian's archive) and on the lab's internal network. Returns
    ``host:port`` of its proxy on the lab network."""
    name = lab.os_mirror
    current = docker("inspect", "--format", "{{.Config.Image}} {{.State.Running}}", name, check=False)
    if current.returncode == 0 and current.stdout.split()[0] != tag:
        docker("rm", "-f", name)
        current = docker("inspect", name, check=False)
    if current.returncode != 0:
        docker("run", "--detach", "--name", name, "--hostname", name, "--label", f"{OS_MIRROR_LABEL}={lab.name}",
               "--stop-signal", "SIGRTMIN+3", "--cgroupns=host", "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
               "--tmpfs", "/run", "--tmpfs", "/run/lock", tag)  # fmt: skip
        docker("network", "connect", lab.network, name)
        say(f"hosts: created {name} (the lab's OS mirror: apt-cacher-ng, the only host with a way out)")
    elif current.stdout.split()[1] != "true":
        docker("start", name)
    _wait_for_systemd(name)
    script = (
        "set -e; if ! dpkg-query -W -f='${Status}' apt-cacher-ng 2>/dev/null | grep -q 'ok installed'; then "
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apt-cacher-ng >/dev/null; fi; "
        # the packaged backend (ftp.debian.org) does not resolve here; target-hosts.md
        'if [ "$(cat /etc/apt-cacher-ng/backends_debian 2>/dev/null)" != http://deb.debian.org/debian/ ]; then '
        "echo http://deb.debian.org/debian/ > /etc/apt-cacher-ng/backends_debian; systemctl restart apt-cacher-ng; fi; "
        "systemctl is-active -q apt-cacher-ng || systemctl start apt-cacher-ng"
    )
    docker("exec", name, "sh", "-c", script)
    address = _inspect(lab, name).address
    return f"{address}:{OS_MIRROR_PORT}"


def _wait_for_systemd(name: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = docker("exec", name, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(0.5)
    raise DockyardError(f"hosts: systemd did not come up in {name} within {timeout_s:.0f}s")


def _use_os_mirror(name: str, proxy: str) -> None:
    """Point the host's apt at the site's OS mirror (done when the host is built, as on a real site:
    Dockyard itself never rewrites a host's OS apt sources)."""
    conf = f'Acquire::http::Proxy "http://{proxy}";\n'
    path = "/etc/apt/apt.conf.d/01dockyard-os-mirror"
    if docker("exec", name, "cat", path, check=False).stdout != conf:
        docker("exec", "-i", name, "sh", "-c", f"cat > {path}", stdin=conf)


# apt-get update through the lab's OS mirror: how long one try may take, how many tries, and how old
# the lists may be before a `hosts up` refreshes them (below the common role's cache_valid_time, 1 h).
APT_UPDATE_TIMEOUT_S = 120
APT_UPDATE_TRIES = 3
APT_LISTS_FRESH_MIN = 50


def _refresh_package_lists(name: str) -> bool:
    """Leave the host with fresh package lists, as a site's hosts have them: ``apt-get update`` through
    the OS mirror when the lists are older than APT_LISTS_FRESH_MIN minutes, so the bootstrap's first
    apt run (whose time nothing bounds) does not fetch six hosts' lists at once through a cold
    apt-cacher-ng. Each try is bounded and retried; apt-get update exits 0 even when it fetched
    nothing, so its warnings count as a failure (target-hosts.md). Returns True when it refreshed
    them."""
    fresh = f"find /var/lib/apt/lists -maxdepth 0 -mmin -{APT_LISTS_FRESH_MIN}"
    if docker("exec", name, "sh", "-c", fresh, check=False).stdout.strip():
        return False
    problem = ""
    for _ in range(APT_UPDATE_TRIES):
        proc = docker("exec", name, "timeout", str(APT_UPDATE_TIMEOUT_S), "apt-get", "update", "-q", check=False)
        output = proc.stdout + proc.stderr
        if proc.returncode == 0 and "W: Failed to fetch" not in output and "E: " not in output:
            return True
        lines = [line for line in output.splitlines() if line.startswith(("W:", "E:"))]
        problem = lines[-1] if lines else f"apt-get update exited {proc.returncode} (124: timed out)"
    raise DockyardError(
        f"hosts: {name}: apt-get update through the OS mirror failed {APT_UPDATE_TRIES} times: {problem} "
        f"(check the mirror container's /var/log/apt-cacher-ng, or run `invoke hosts down` and up again)"
    )


def _containers(lab: Lab) -> list[str]:
    out = docker("ps", "-a", "--filter", f"label={lab.label}", "--format", "{{.Names}}").stdout
    return sorted(out.split())


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _ensure_container(
    lab: Lab, name: str, tag: str, public_key: Path, say: Say, *, docker_inside: bool = False
) -> None:
    """Reuse the container only if it runs this base image with the same flags and trusts this
    machine's key (a container of another checkout with the same name would not let us in)."""
    flags = "sysadmin,docker-inside" if docker_inside else "sysadmin"
    fmt = (
        f'{{{{.Config.Image}}}} {{{{.State.Running}}}} {{{{index .Config.Labels "{FLAGS_LABEL}"}}}} '
        '{{range .Mounts}}{{if eq .Destination "/root/.ssh/authorized_keys"}}{{.Source}}{{end}}{{end}}'
    )
    current = docker("inspect", "--format", fmt, name, check=False)
    if current.returncode == 0:
        img, running, had_flags, *mounted = current.stdout.split()
        ours = img == tag and mounted == [str(public_key)] and had_flags == flags
        if ours and running == "true":
            return
        if ours:
            docker("start", name)
            say(f"hosts: started {name}")
            return
        docker("rm", "-f", name)
        why = (
            "base image changed"
            if img != tag
            else "flags changed"
            if had_flags != flags
            else "made for another SSH key"
        )
        say(f"hosts: replacing {name} ({why})")
    docker(
        "run",
        "--detach",
        "--name",
        name,
        "--hostname",
        name,
        "--label",
        lab.label,
        "--label",
        f"{FLAGS_LABEL}={flags}",
        "--network",
        lab.network,
        *HOST_FLAGS,
        *(DOCKER_INSIDE if docker_inside else ()),
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
        # An air-gapped site: the hosts' network has no route out; every vendor artefact comes from
        # the mirror, loaded from a bundle (the lab's are stand-ins: tests/standins/lab_feed.py).
        "dockyard_airgap": True,
        "dockyard_time_servers": [LAB_TIME_SERVER],
        "dockyard_environments": {ENV: {"sync": "auto"}},
        "dockyard_preflight_minimums": {
            g: small for g in ("gitlab", "harbor", "jenkins", "mirror", "kube_control_plane", "kube_node")
        },
    }
    return (
        "---\n# The local environment's own settings. This file sorts after the spec files linked from\n"
        "# inventories/platform, so its values win. The preflight minimums are lowered to what one\n"
        "# small machine shares between its container hosts: this is a lab, not a sized platform.\n"
        "# The hosts' OS packages come from the lab's OS mirror (apt-cacher-ng, set in each host's apt\n"
        "# configuration when `hosts up` builds it), as an air-gapped site's hosts use the site's own.\n"
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

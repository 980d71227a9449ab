"""The base image of the local hosts: Debian 12 with systemd as PID 1, built with debootstrap.

Built once and reused; its tag carries a hash of the recipe, so changing the recipe (packages,
apt sources, masked units) builds a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from dockyard.localhosts.engine import DOCKER, docker
from dockyard.problems import DockyardError

REPOSITORY = "dockyard/debian12-systemd"
SUITE = "bookworm"
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-apt",
    "sudo",
    "iproute2",
    "procps",
    "openssh-server",
    "ca-certificates",
)
# Units that make no sense, or fail, in a container whose kernel and devices belong to the host.
MASKED_UNITS = (
    "systemd-udevd.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "getty@tty1.service",
    "console-getty.service",
    "tmp.mount",
    "systemd-modules-load.service",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-kernel-config.mount",
    "systemd-firstboot.service",
)
APT_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
APT_CONF_DIR = Path("/etc/apt/apt.conf.d")
RECIPE_VERSION = "2"
# sshd host keys are made at first boot, so every host has its own.
SSH_DROPIN = "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n"
SSHD_CONFIG = "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"


def _apt_confs() -> list[Path]:
    return sorted(APT_CONF_DIR.glob("99*"))


def recipe() -> dict[str, object]:
    return {
        "version": RECIPE_VERSION,
        "suite": SUITE,
        "packages": PACKAGES,
        "masked": MASKED_UNITS,
        "sources": APT_SOURCES.read_text() if APT_SOURCES.exists() else "",
        "apt_confs": {p.name: p.read_text() for p in _apt_confs()},
        "ssh": [SSH_DROPIN, SSHD_CONFIG],
    }


def tag() -> str:
    digest = hashlib.sha256(json.dumps(recipe(), sort_keys=True).encode()).hexdigest()[:12]
    return f"{REPOSITORY}:{digest}"


def exists(image: str) -> bool:
    return docker("image", "inspect", image, check=False).returncode == 0


def mirror_url() -> str:
    """The Debian mirror this machine's apt uses (deb822 URIs: line)."""
    if APT_SOURCES.exists():
        for line in APT_SOURCES.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split(":", 1)[1].split()[0]
    return "http://deb.debian.org/debian"


def ensure(work_dir: Path, log: Path) -> tuple[str, bool]:
    """The image tag, building it first when it does not exist. Returns (tag, built)."""
    image = tag()
    if exists(image):
        return image, False
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        with log.open("ab") as out:
            proc = subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(PACKAGES)}",
                    SUITE,
                    str(rootfs),
                    mirror_url(),
                ],
                stdout=out,
                stderr=out,
                check=False,
            )
        if proc.returncode != 0:
            raise DockyardError(f"debootstrap failed (exit {proc.returncode}); see {log}")
        _customise(rootfs)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            [DOCKER, "import", "-c", 'CMD ["/sbin/init"]', "-c", "ENV container=docker", "-", image],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        tar.wait()
        if imp.returncode != 0 or tar.returncode != 0:
            raise DockyardError(f"docker import failed: {imp.stderr.strip()}")
    return image, True


def _customise(rootfs: Path) -> None:
    etc = rootfs / "etc"
    (etc / "apt" / "sources.list").unlink(missing_ok=True)
    if APT_SOURCES.exists():
        shutil.copy2(APT_SOURCES, etc / "apt" / "sources.list.d" / APT_SOURCES.name)
    for conf in _apt_confs():
        shutil.copy2(conf, etc / "apt" / "apt.conf.d" / conf.name)
    for unit in MASKED_UNITS:
        link = etc / "systemd" / "system" / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    (etc / "machine-id").write_text("")
    for key in (etc / "ssh").glob("ssh_host_*"):
        key.unlink()
    dropin = etc / "systemd" / "system" / "ssh.service.d"
    dropin.mkdir(parents=True, exist_ok=True)
    (dropin / "dockyard-host-keys.conf").write_text(SSH_DROPIN)
    (etc / "ssh" / "sshd_config.d" / "dockyard.conf").write_text(SSHD_CONFIG)
    root_ssh = rootfs / "root" / ".ssh"
    root_ssh.mkdir(mode=0o700, exist_ok=True)
    # No package lists from build time: the first apt run on a host must fetch current ones, and
    # an old directory time tells apt (and Ansible's cache_valid_time) that the cache is stale.
    lists = rootfs / "var" / "lib" / "apt" / "lists"
    for stale in lists.glob("*_*"):
        stale.unlink()
    for cache in (rootfs / "var" / "cache" / "apt").glob("*.bin"):
        cache.unlink()
    os.utime(lists, (0, 0))

"""Preflight against a real OpenSSH server on 127.0.0.1, through the operator's command."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.cli_runner import invoke
from tests.integration import sshd

ROOT = Path(__file__).resolve().parents[2]

HOSTS = 6  # in the sample inventories (platform and dev): each gets its own 127.0.0.N

pytestmark = pytest.mark.skipif(not sshd.SSHD.exists(), reason="needs Debian's openssh-server (scripts/setup.sh)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd.Sshd]:
    work = tmp_path_factory.mktemp("sshd")
    fake_bin = work / "skewed-bin"
    fake_bin.mkdir()
    # `date` on the "remote" side reads an offset from a file, so a test can skew the host's clock.
    (fake_bin / "date").write_text(
        "#!/bin/sh\noff=$(cat " + str(work / "clock-offset") + " 2>/dev/null || echo 0)\n"
        'if [ "$1" = "+%s.%N" ]; then echo "$(( $(/bin/date +%s) + off )).$(/bin/date +%N)"; '
        'else exec /bin/date "$@"; fi\n'
    )
    (fake_bin / "date").chmod(0o755)
    server = sshd.start(
        work,
        addresses=HOSTS,
        extra_config=f"SetEnv PATH={fake_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
    )
    yield server
    server.stop()


def lab_tree(
    tmp_path: Path,
    server: sshd.Sshd,
    *,
    key: Path | None = None,
    port: int | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    """The sample tree with every host pointed at the test sshd, minimums sized for this machine."""
    tree = tmp_path / "inventories"
    shutil.copytree(ROOT / "inventories", tree, ignore=shutil.ignore_patterns("local", "vault.yml"))
    conn = {
        "ansible_port": port or server.port,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(key or server.client_key),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={server.known_hosts}",
    }
    number = 0
    for inv in ("platform", "dev"):
        path = tree / inv / "hosts.yml"
        data = yaml.safe_load(path.read_text())
        for group in data["all"]["children"].values():
            for name in list(group.get("hosts") or {}):
                number += 1
                group["hosts"][name] = {"ansible_host": f"127.0.0.{number}", **conn, **(extra or {})}
        path.write_text(yaml.safe_dump(data))
    small = {"cpus": 1, "memory_mb": 256, "disk_gb": 1}
    (tree / "dev" / "group_vars" / "all" / "lab.yml").write_text(
        yaml.safe_dump(
            {
                "dockyard_dns": False,
                "dockyard_preflight_minimums": {
                    g: small for g in ("gitlab", "harbor", "jenkins", "mirror", "kube_control_plane", "kube_node")
                },
            }
        )
    )
    return tree


def preflight(tree: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return invoke("preflight", "--env", "dev", "--inventories", str(tree), env=env)


def row(stdout: str, host: str) -> list[str]:
    for line in stdout.splitlines():
        if line.startswith(host + " "):
            return line.split()
    raise AssertionError(f"no row for {host} in:\n{stdout}")


def test_all_hosts_pass(tmp_path: Path, server: sshd.Sshd) -> None:
    proc = preflight(lab_tree(tmp_path, server))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header = proc.stdout.splitlines()[0].split()
    assert header == ["host", "ssh", "sudo", "os", "cpu", "memory", "disk", "clock", "swap", "dns"]
    assert row(proc.stdout, "gitlab-1")[1:8] == ["ok"] * 7
    assert row(proc.stdout, "dev-cp-1")[8] == "ok"  # swap checked on cluster nodes
    assert row(proc.stdout, "gitlab-1")[8] == "skip"  # and only there
    assert "preflight OK: 6 host(s) passed every check" in proc.stdout


def test_resources_below_minimum_fail_naming_group(tmp_path: Path, server: sshd.Sshd) -> None:
    tree = lab_tree(tmp_path, server)
    lab = tree / "dev" / "group_vars" / "all" / "lab.yml"
    data = yaml.safe_load(lab.read_text())
    data["dockyard_preflight_minimums"]["gitlab"] = {"cpus": 512, "memory_mb": 10_000_000, "disk_gb": 1}
    lab.write_text(yaml.safe_dump(data))
    proc = preflight(tree)
    assert proc.returncode == 1
    assert row(proc.stdout, "gitlab-1")[4:6] == ["FAIL", "FAIL"]
    assert row(proc.stdout, "harbor-1")[4:6] == ["ok", "ok"]
    assert "gitlab-1: cpu: FAIL:" in proc.stdout and "gitlab needs 512" in proc.stdout
    assert "dockyard_preflight_minimums.gitlab.memory_mb" in proc.stdout
    assert "preflight FAILED on 1 of 6 host(s): gitlab-1 (cpu, memory)" in proc.stderr


def test_wrong_key_fails_auth(tmp_path: Path, server: sshd.Sshd) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    proc = preflight(lab_tree(tmp_path, server, key=other))
    assert proc.returncode == 1
    assert row(proc.stdout, "jenkins-1")[1] == "FAIL"
    assert "authentication failed" in proc.stdout
    assert "preflight FAILED on 6 of 6 host(s)" in proc.stderr


def test_unreachable_host_fails_ssh(tmp_path: Path, server: sshd.Sshd) -> None:
    proc = preflight(lab_tree(tmp_path, server, port=sshd.free_port()))
    assert proc.returncode == 1
    assert "cannot connect to 127.0.0." in proc.stdout
    assert row(proc.stdout, "dev-worker-1")[1:3] == ["FAIL", "skip"]


def test_unknown_host_key_is_refused(tmp_path: Path, server: sshd.Sshd) -> None:
    tree = lab_tree(tmp_path, server)
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    for inv in ("platform", "dev"):
        path = tree / inv / "hosts.yml"
        path.write_text(path.read_text().replace(str(server.known_hosts), str(empty)))
    proc = preflight(tree)
    assert proc.returncode == 1
    assert "not found in known_hosts" in proc.stdout


def test_clock_skew_fails(tmp_path: Path, server: sshd.Sshd) -> None:
    (server.dir / "clock-offset").write_text("120")
    try:
        proc = preflight(lab_tree(tmp_path, server))
    finally:
        (server.dir / "clock-offset").write_text("0")
    assert proc.returncode == 1
    assert row(proc.stdout, "harbor-1")[7] == "FAIL"
    assert "clock: FAIL: +120" in proc.stdout


def test_unresolvable_names_fail_when_dns_is_expected(tmp_path: Path, server: sshd.Sshd) -> None:
    tree = lab_tree(tmp_path, server)
    lab = tree / "dev" / "group_vars" / "all" / "lab.yml"
    data = yaml.safe_load(lab.read_text())
    data["dockyard_dns"] = True
    lab.write_text(yaml.safe_dump(data))
    proc = preflight(tree)
    assert proc.returncode == 1
    assert row(proc.stdout, "gitlab-1")[9] == "FAIL"
    assert "cannot resolve argocd.dev.platform.example.com" in proc.stdout


@pytest.fixture(scope="module")
def jump(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd.Sshd]:
    """A second OpenSSH server on 127.0.0.1: the bastion the hosts are reached through. DEBUG1 logs
    each forwarded (direct-tcpip) connection, so the test sees the route taken."""
    server = sshd.start(tmp_path_factory.mktemp("jump"), extra_config="LogLevel DEBUG1\nAllowTcpForwarding yes\n")
    yield server
    server.stop()


def _via_jump(tmp_path: Path, server: sshd.Sshd, jump: sshd.Sshd) -> tuple[Path, dict[str, str]]:
    """Hosts reached with ProxyJump through the alias 'bastion', which only the operator's ssh
    config (not the inventory) resolves to the jump server, its port, user and key."""
    known = tmp_path / "known_hosts"
    known.write_text(server.known_hosts.read_text() + jump.known_hosts.read_text())
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host bastion\n  HostName 127.0.0.1\n  Port {jump.port}\n  User root\n  IdentityFile {jump.client_key}\n"
    )
    args = f"-o UserKnownHostsFile={known} -o ProxyJump=bastion"
    return lab_tree(tmp_path, server, extra={"ansible_ssh_common_args": args}), {"DOCKYARD_SSH_CONFIG": str(config)}


def test_hosts_are_reached_through_the_jump_host(tmp_path: Path, server: sshd.Sshd, jump: sshd.Sshd) -> None:
    tree, env = _via_jump(tmp_path, server, jump)
    log = jump.dir / "sshd.log"
    before = log.read_text().count("direct-tcpip")
    proc = preflight(tree, **env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "preflight OK: 6 host(s) passed every check" in proc.stdout
    tunnels = log.read_text().count("direct-tcpip") - before
    assert tunnels >= 6, log.read_text()[-3000:]  # every host went through the bastion
    assert f"127.0.0.6 port {server.port}" in log.read_text()


def test_a_dead_jump_host_is_named(tmp_path: Path, server: sshd.Sshd, jump: sshd.Sshd) -> None:
    tree, env = _via_jump(tmp_path, server, jump)
    config = Path(env["DOCKYARD_SSH_CONFIG"])
    config.write_text(config.read_text().replace(str(jump.port), str(sshd.free_port())))
    proc = preflight(tree, **env)
    assert proc.returncode == 1
    assert "ssh: FAIL: jump host root@127.0.0.1:" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr

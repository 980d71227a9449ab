"""Preflight judgement on collected facts (the SSH side is tested against a real sshd)."""

from __future__ import annotations

import paramiko

from dockyard.preflight.checks import judge, plan_for
from dockyard.preflight.probe import Facts
from dockyard.preflight.route import Hop, route

MINIMUMS = {
    "gitlab": {"cpus": 4, "memory_mb": 8192, "disk_gb": 50},
    "kube_control_plane": {"cpus": 2, "memory_mb": 2048, "disk_gb": 20},
    "kube_node": {"cpus": 2, "memory_mb": 4096, "disk_gb": 30},
}
GOOD = {
    "os_id": "debian",
    "os_version": "12",
    "os_name": "Debian GNU/Linux 12 (bookworm)",
    "cpus": "8",
    "mem_kb": str(16 * 1024 * 1024),
    "disk_kb": str(100 * 1024 * 1024),
    "swap_kb": "0",
    "sudo": "nopasswd",
}


def results(groups: set[str], **values: str) -> dict[str, tuple[str, str]]:
    facts = Facts("h", values={**GOOD, **values}, clock_skew_s=0.01, clock_uncertainty_s=0.001)
    out = judge(plan_for("h", frozenset(groups), MINIMUMS), facts, max_skew_s=2, dns_managed=False, names=[])
    return {r.check: (r.status, r.detail) for r in out}


def test_unsupported_os_names_the_supported_ones() -> None:
    r = results({"gitlab"}, os_id="rocky", os_version="9.4", os_name="Rocky Linux 9.4")
    assert r["os"][0] == "FAIL"
    assert r["os"][1] == "Rocky Linux 9.4 is not supported (supported: Debian 12, Ubuntu 22.04, Ubuntu 24.04)"
    assert results({"gitlab"}, os_id="ubuntu", os_version="24.04")["os"][0] == "ok"


def test_no_sudo_fails() -> None:
    assert results({"gitlab"}, sudo="no")["sudo"][0] == "FAIL"
    assert results({"gitlab"}, sudo="root")["sudo"] == ("ok", "connected as root")


def test_host_in_two_groups_meets_the_highest_bar() -> None:
    r = results({"kube_control_plane", "kube_node"}, cpus="2", mem_kb=str(3 * 1024 * 1024))
    assert r["cpu"][0] == "ok"
    assert r["memory"][0] == "FAIL"
    assert "kube_node needs 4096" in r["memory"][1]


def test_swap_only_matters_on_cluster_nodes() -> None:
    assert results({"kube_node"}, swap_kb="1048576")["swap"] == (
        "warn",
        "1024 MB swap active (the common role turns it off)",
    )
    assert results({"gitlab"}, swap_kb="1048576")["swap"][0] == "skip"


def test_no_ssh_skips_everything_else() -> None:
    out = judge(
        plan_for("h", frozenset({"gitlab"}), MINIMUMS),
        Facts("h", error="timed out"),
        max_skew_s=2,
        dns_managed=False,
        names=[],
    )
    assert [r.status for r in out] == ["FAIL"] + ["skip"] * 8


def _route(address: str = "10.0.0.5", config: str = "", **kw: object) -> object:
    args = dict(port=None, user=None, key_file=None, args="")
    args.update(kw)
    return route(address, config=paramiko.SSHConfig.from_text(config), **args)  # type: ignore[arg-type]


def test_ssh_options_follow_ansible_args() -> None:
    r = _route(args="-o UserKnownHostsFile=/a/known -o StrictHostKeyChecking=no")
    assert r.known_hosts_files == ("/a/known",)
    assert r.strict_host_keys is False
    assert _route().strict_host_keys is None and _route().known_hosts_files == ()


def test_proxy_jump_from_inventory_args_is_a_hop() -> None:
    r = _route(port=2201, user="root", args="-o ProxyJump=ops@bastion.example:2222,10.0.0.1")
    assert r.target == Hop("10.0.0.5", 2201, "root", ())
    assert r.jumps == (Hop("bastion.example", 2222, "ops"), Hop("10.0.0.1", 22, None))
    assert r.proxy_command is None
    assert _route(args="-J [::1]:2022").jumps == (Hop("::1", 2022, None),)


def test_proxy_command_tokens_are_expanded() -> None:
    r = _route(port=2200, user="deploy", args="-o ProxyCommand='ssh -W %h:%p -l %r gw'")
    assert r.proxy_command == "ssh -W 10.0.0.5:2200 -l deploy gw"


def test_ssh_config_fills_what_the_inventory_does_not_say() -> None:
    config = (
        "Host bastion\n  HostName 192.0.2.1\n  Port 2022\n  User jump\n  IdentityFile /keys/jump\n"
        "Host 10.0.0.*\n  User admin\n  Port 2200\n  ProxyJump bastion\n  IdentityFile /keys/admin\n"
    )
    r = _route(config=config)
    assert r.target == Hop("10.0.0.5", 2200, "admin", ("/keys/admin",))
    assert r.jumps == (Hop("192.0.2.1", 2022, "jump", ("/keys/jump",)),)
    # what the inventory says wins over the config, as ssh's command-line options do
    r = _route(config=config, port=22, user="root", key_file="/keys/inv", args="-o ProxyJump=none")
    assert r.target == Hop("10.0.0.5", 22, "root", ("/keys/inv",)) and r.jumps == ()

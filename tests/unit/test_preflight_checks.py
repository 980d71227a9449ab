"""Preflight judgement on collected facts (the SSH side is tested against a real sshd)."""

from __future__ import annotations

from dockyard.preflight.checks import judge, plan_for
from dockyard.preflight.probe import Facts
from dockyard.preflight.run import _ssh_options

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


def test_ssh_options_follow_ansible_args() -> None:
    files, strict = _ssh_options("-o UserKnownHostsFile=/a/known -o StrictHostKeyChecking=no", True)
    assert files == ("/a/known",)
    assert strict is False
    assert _ssh_options("", True) == ((), True)

"""Judge the facts collected from each host against what its groups need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dockyard.inventory import CLUSTER_GROUPS
from dockyard.preflight.probe import Facts

Status = Literal["ok", "warn", "FAIL", "skip"]
CHECKS = ("ssh", "sudo", "os", "cpu", "memory", "disk", "clock", "swap", "dns")
SUPPORTED_OS = {("debian", "12"): "Debian 12", ("ubuntu", "22.04"): "Ubuntu 22.04", ("ubuntu", "24.04"): "Ubuntu 24.04"}
SUPPORTED_OS_TEXT = ", ".join(SUPPORTED_OS.values())


@dataclass(frozen=True)
class Result:
    check: str
    status: Status
    detail: str = ""


@dataclass(frozen=True)
class Minimum:
    cpus: int
    memory_mb: int
    disk_gb: int


@dataclass(frozen=True)
class HostPlan:
    """What one host is judged against: its groups' strictest minimums, and its role."""

    name: str
    groups: frozenset[str]
    minimum: Minimum | None
    minimum_from: dict[str, str]  # resource -> group that set the bar
    cluster_node: bool


def plan_for(name: str, groups: frozenset[str], minimums: dict[str, dict[str, int]]) -> HostPlan:
    relevant = {g: minimums[g] for g in sorted(groups) if g in minimums}
    if not relevant:
        return HostPlan(name, groups, None, {}, bool(groups & set(CLUSTER_GROUPS)))
    best: dict[str, int] = {}
    source: dict[str, str] = {}
    for group, mins in relevant.items():
        for key in ("cpus", "memory_mb", "disk_gb"):
            if mins[key] > best.get(key, -1):
                best[key] = mins[key]
                source[key] = group
    return HostPlan(
        name,
        groups,
        Minimum(best["cpus"], best["memory_mb"], best["disk_gb"]),
        source,
        bool(groups & set(CLUSTER_GROUPS)),
    )


def judge(
    plan: HostPlan,
    facts: Facts,
    *,
    max_skew_s: float,
    dns_managed: bool,
    names: list[str],
) -> list[Result]:
    if facts.error:
        return [Result("ssh", "FAIL", facts.error), *(Result(c, "skip", "no SSH") for c in CHECKS[1:])]
    v = facts.values
    results = [Result("ssh", "ok")]
    results.append(_sudo(v.get("sudo", "no")))
    results.append(_os(v))
    results.extend(_resources(plan, v))
    results.append(_clock(facts, max_skew_s))
    results.append(_swap(plan, v))
    results.append(_dns(v, names, dns_managed))
    return results


def _sudo(value: str) -> Result:
    if value == "root":
        return Result("sudo", "ok", "connected as root")
    if value == "nopasswd":
        return Result("sudo", "ok", "passwordless sudo")
    return Result("sudo", "FAIL", "no passwordless sudo (grant it, or connect as root)")


def _os(v: dict[str, str]) -> Result:
    key = (v.get("os_id", ""), v.get("os_version", ""))
    if key in SUPPORTED_OS:
        return Result("os", "ok", SUPPORTED_OS[key])
    return Result("os", "FAIL", f"{v.get('os_name', 'unknown')} is not supported (supported: {SUPPORTED_OS_TEXT})")


def _resources(plan: HostPlan, v: dict[str, str]) -> list[Result]:
    if plan.minimum is None:
        return [Result(c, "skip", "no minimum for its groups") for c in ("cpu", "memory", "disk")]
    have_cpus = _int(v.get("cpus"))
    have_mem_mb = _int(v.get("mem_kb")) // 1024
    have_disk_gb = _int(v.get("disk_kb")) // (1024 * 1024)
    out = []
    for check, have, need, unit, key in (
        ("cpu", have_cpus, plan.minimum.cpus, " CPUs", "cpus"),
        ("memory", have_mem_mb, plan.minimum.memory_mb, " MB", "memory_mb"),
        ("disk", have_disk_gb, plan.minimum.disk_gb, " GB free on /var", "disk_gb"),
    ):
        group = plan.minimum_from[key]
        if have >= need:
            out.append(Result(check, "ok", f"{have}{unit}"))
        else:
            out.append(
                Result(
                    check,
                    "FAIL",
                    f"{have}{unit}, {group} needs {need} "
                    f"(or lower dockyard_preflight_minimums.{group}.{key} for a lab)",
                )
            )
    return out


def _clock(facts: Facts, max_skew_s: float) -> Result:
    if facts.clock_skew_s is None:
        return Result("clock", "FAIL", "could not read the host's clock")
    skew = abs(facts.clock_skew_s)
    slack = facts.clock_uncertainty_s or 0.0
    if skew - slack > max_skew_s:
        return Result("clock", "FAIL", f"{facts.clock_skew_s:+.2f}s from this machine (max {max_skew_s}s; set up NTP)")
    return Result("clock", "ok", f"{facts.clock_skew_s:+.2f}s")


def _swap(plan: HostPlan, v: dict[str, str]) -> Result:
    swap_kb = _int(v.get("swap_kb"))
    if not plan.cluster_node:
        return Result("swap", "skip", "not a cluster node")
    if swap_kb:
        return Result("swap", "warn", f"{swap_kb // 1024} MB swap active (the common role turns it off)")
    return Result("swap", "ok", "off")


def _dns(v: dict[str, str], names: list[str], dns_managed: bool) -> Result:
    if dns_managed:  # not looked up at all: a resolver with no answer can stall for 20 s a name
        return Result("dns", "skip", "dockyard_dns is false: the common role writes the names to /etc/hosts")
    missing = [n for n in names if v.get(f"resolve.{n}") != "ok"]
    if not missing:
        return Result("dns", "ok", f"{len(names)} names resolve")
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    return Result("dns", "FAIL", f"cannot resolve {shown} (add DNS records, or set dockyard_dns: false)")


def _int(text: str | None) -> int:
    try:
        return int(float(text or 0))
    except ValueError:
        return 0

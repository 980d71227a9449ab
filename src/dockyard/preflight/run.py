"""Run preflight against every host of a loaded inventory and report a host x check table."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from dockyard.inventory import Host, LoadedInventory
from dockyard.preflight import route
from dockyard.preflight.checks import CHECKS, Result, judge, plan_for
from dockyard.preflight.probe import Facts, Target, collect
from dockyard.spec.model import Platform

MAX_PARALLEL = 32


@dataclass(frozen=True)
class Report:
    rows: dict[str, list[Result]]

    @property
    def failed(self) -> dict[str, list[Result]]:
        return {
            h: [r for r in rs if r.status == "FAIL"]
            for h, rs in self.rows.items()
            if any(r.status == "FAIL" for r in rs)
        }

    def render(self) -> str:
        headers = ["host", *CHECKS]
        table = [[host, *(r.status for r in results)] for host, results in self.rows.items()]
        widths = [max(len(row[i]) for row in [headers, *table]) for i in range(len(headers))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [headers, *table]
        ]
        notes = [
            f"  {host}: {r.check}: {r.status}: {r.detail}"
            for host, results in self.rows.items()
            for r in results
            if r.status in ("FAIL", "warn") and not (r.check != "ssh" and r.detail == "no SSH")
        ]
        return "\n".join(lines + (["", *notes] if notes else []))

    def summary(self) -> str:
        if not self.failed:
            return f"preflight OK: {len(self.rows)} host(s) passed every check"
        parts = [f"{h} ({', '.join(r.check for r in rs)})" for h, rs in self.failed.items()]
        return f"preflight FAILED on {len(self.failed)} of {len(self.rows)} host(s): " + "; ".join(parts)


def target_for(host: Host, timeout_s: float, host_key_checking: bool, config: Any = None) -> Target:
    """How Ansible's ssh connection would reach the host: its connection variables, then ~/.ssh/config."""
    args = " ".join(str(host.get(k) or "") for k in ("ansible_ssh_common_args", "ansible_ssh_extra_args"))
    port = host.get("ansible_port") or host.get("ansible_ssh_port")
    path = route.route(
        host.address,
        port=int(port) if port else None,  # validated as a port number before preflight runs
        user=host.get("ansible_user") or host.get("ansible_ssh_user"),
        key_file=host.get("ansible_ssh_private_key_file") or host.get("ansible_private_key_file"),
        args=args,
        config=config if config is not None else route.ssh_config(),
    )
    strict = host_key_checking if path.strict_host_keys is None else path.strict_host_keys
    if host.get("ansible_host_key_checking") is not None:
        strict = bool(host.get("ansible_host_key_checking"))
    return Target(
        name=host.name,
        address=path.target.host,
        port=path.target.port,
        user=path.target.user,
        key_file=host.get("ansible_ssh_private_key_file") or host.get("ansible_private_key_file"),
        password=host.get("ansible_password") or host.get("ansible_ssh_pass"),
        known_hosts_files=path.known_hosts_files,
        strict_host_keys=strict,
        timeout_s=timeout_s,
        jumps=path.jumps,
        proxy_command=path.proxy_command,
        config_key_files=path.target.key_files,
    )


def service_names(inv: LoadedInventory, platform: Platform) -> list[str]:
    names = [platform.tool_hostname(t) for t in platform.tools]
    if inv.groups.get("mirror"):
        names.append(platform.mirror_fqdn)
    names.append(platform.argocd_hostname(inv.env))
    return sorted(set(names))


def run(
    inv: LoadedInventory,
    platform: Platform,
    *,
    host_key_checking: bool = True,
    collector: Callable[[Target, list[str]], Facts] = collect,
) -> Report:
    spec = inv.spec
    minimums = spec.get("dockyard_preflight_minimums") or {}
    timeout_s = float(spec.get("dockyard_preflight_ssh_timeout_s", 10))
    max_skew = float(spec.get("dockyard_preflight_max_clock_skew_s", 2))
    names = service_names(inv, platform)
    hosts = [inv.hosts[name] for name in sorted(inv.hosts)]
    config = route.ssh_config()
    targets = [target_for(h, timeout_s, host_key_checking, config) for h in hosts]
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL, len(targets)))) as pool:
        # With dockyard_dns false the names go to /etc/hosts, so they are not looked up (an air-gapped
        # host's resolver may take 20 s to give up on each).
        probe = names if platform.dns else []
        all_facts = list(pool.map(lambda t: collector(t, probe), targets))
    rows = {
        h.name: judge(
            plan_for(h.name, h.groups, minimums),
            facts,
            max_skew_s=max_skew,
            dns_managed=not platform.dns,
            names=names,
        )
        for h, facts in zip(hosts, all_facts, strict=True)
    }
    return Report(rows)

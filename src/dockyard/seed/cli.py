"""``invoke seed --env ENV [--dry-run] [--prune] [--rotate] [--deep] [--json]``, and the seed step
that ends ``invoke bootstrap``. Output never contains a secret: every line goes through a
:class:`Redactor` that knows every value in the vault and every admin credential in use."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dockyard import cli, inventory
from dockyard.gitops.settings import known_hosts_path
from dockyard.secrets import Vault
from dockyard.seed import content, wiring
from dockyard.seed.access import ToolAccess, Unavailable, tool_access
from dockyard.seed.changes import Report
from dockyard.seed.run import ORDER, SeedOptions, seed
from dockyard.service_names import addresses_without_dns, resolved_from_inventory
from dockyard.spec.model import Platform
from dockyard.summary import Summary

MIN_REDACTED = 6


class Redactor:
    def __init__(self, secrets: list[str]) -> None:
        pieces = set()
        for value in secrets:
            if len(value) >= MIN_REDACTED:
                pieces.add(value)
                pieces.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 16)
        # Longest first, so a secret is hidden whole rather than around a shorter one inside it.
        ordered = sorted(pieces, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub("[secret]", text) if self._pattern else text


def _accesses(root: Path, platform: Platform, vault: Vault) -> dict[str, ToolAccess | Unavailable]:
    state = cli.state_dir(root)
    return {tool: tool_access(platform, tool, vault, root=root, state_dir=state) for tool in ORDER}


def _run(
    root: Path, inv: inventory.LoadedInventory, platform: Platform, options: SeedOptions
) -> tuple[Report, Redactor]:
    vault = Vault.open(inv.tree, inv.env, cli.state_dir(root))
    # Without DNS (dockyard_dns: false) the tools' names resolve here as on the hosts: from the inventory.
    with resolved_from_inventory(addresses_without_dns(inv, platform, inv.env)):
        accesses = _accesses(root, platform, vault)
        credentials = [a.credential for a in accesses.values() if isinstance(a, ToolAccess)]
        report = seed(
            platform,
            vault,
            accesses,
            options,
            versions=inv.spec.get("dockyard_catalogue") or {},
            deploy_content=lambda project: content.deploy_repo_content(platform, project),
            known_hosts=_known_hosts(root, inv),
        )
    keys = vault.keys()
    redact = Redactor([*credentials, *(v for k in keys if (v := vault.get(k)))])
    return report, redact


def _known_hosts(root: Path, inv: inventory.LoadedInventory) -> str | None:
    path = known_hosts_path(root, inv.spec)
    return path.read_text(encoding="utf-8") if path.is_file() else None


@cli.guarded
def seed_command(
    root: Path,
    inventories: str | None,
    env: str,
    *,
    dry_run: bool = False,
    prune: bool = False,
    rotate: bool = False,
    deep: bool = False,
    as_json: bool = False,
) -> int:
    inv, platform = cli.load(root, inventories, env)
    options = SeedOptions(dry_run=dry_run, prune=prune, rotate=rotate, deep=deep)
    report, redact = _run(root, inv, platform, options)
    secrets = wiring.platform_secrets(platform, env)
    if as_json:
        doc: dict[str, Any] = report.as_json(wiring=[s.as_dict() for s in secrets] if dry_run else None)
        cli.out(redact(json.dumps(doc, indent=2)))
    else:
        cli.out(f"seed env {env}" + (": dry run, nothing is changed" if dry_run else ""))
        for line in report.render():
            cli.out(redact(line))
        if dry_run:
            cli.out("wiring (vault key, its source -> its consumers [who writes them]; values are never shown):")
            for line in wiring.render(secrets):
                cli.out(redact(line))
    for failure in report.failures:
        cli.err(redact(f"seed FAILED: {failure}"))
    if not report.complete:
        cli.err(redact(f"seed INCOMPLETE: {report.summary_line()}"))
        return 1
    if not as_json:
        cli.out(f"seed OK: {report.summary_line()}")
    return 0


def seed_after_bootstrap(
    root: Path, inv: inventory.LoadedInventory, platform: Platform, summary: Summary | None = None
) -> int:
    """The last step of ``invoke bootstrap``: seed every tool that can be reached; say which were
    skipped and why (also to the bootstrap's closing summary). Fails (1) only when a reachable tool failed."""
    report, redact = _run(root, inv, platform, SeedOptions())
    for skip in report.skipped if summary is not None else []:
        if skip.kind != "not-in-spec":
            summary.skip("seed", redact(f"{skip.tool} {skip.kind} {skip.name}"), redact(skip.reason))
    for line in report.render():
        if " noop " not in line:
            cli.out(redact(f"seed: {line.strip()}"))
    for failure in report.failures:
        cli.err(redact(f"seed FAILED: {failure}"))
    cli.out(redact(f"seed: {report.summary_line()}"))
    return 1 if report.failures else 0

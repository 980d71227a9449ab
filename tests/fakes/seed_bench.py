"""The seed benchmark's body: seed P projects x S services x the sample's 3 environments into the
TEST DOUBLES of GitLab, Harbor and Jenkins, then seed again with nothing changed. Prints time and
API calls per tool for both runs. ``invoke bench seed`` runs this module (``python -m``) from a
source checkout, so the product never imports a double.

Exit code 1 when the rerun writes anything or reports anything but no-op.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from dockyard import cli, secrets
from dockyard.secrets import Vault
from dockyard.seed import content
from dockyard.seed.access import tool_access
from dockyard.seed.run import ORDER, SeedOptions, seed
from tests.fakes.lab import SeedLab


def _spec(projects: int, services: int) -> Any:
    def change(spec: dict[str, Any]) -> None:
        spec["dockyard_projects"] = [
            {"name": f"team{p:03d}", "services": [{"name": f"svc{s:02d}", "port": 8000 + s} for s in range(services)]}
            for p in range(projects)
        ]

    return change


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--services", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-seed-") as tmp:
        lab = SeedLab(Path(tmp))
        try:
            return _run(lab, args.projects, args.services)
        finally:
            lab.stop()


def _run(lab: SeedLab, projects: int, services: int) -> int:
    lab.write_tree(_spec(projects, services))
    os.environ[secrets.PASSWORD_ENV] = str(secrets.password_file(lab.root / ".dockyard"))
    os.environ.update(lab.jenkins_env())
    lab.store_admin_credentials()
    lab.store_known_hosts()
    inv, platform = cli.load(lab.root, str(lab.tree), "dev")
    envs = len(platform.environments)
    print(
        f"seed benchmark: {projects} projects x {services} services x {envs} environments, "
        f"against the TEST DOUBLES of GitLab, Harbor and Jenkins (HTTPS on 127.0.0.1)"
    )
    vault = Vault.open(inv.tree, inv.env, cli.state_dir(lab.root))
    accesses = {t: tool_access(platform, t, vault, root=lab.root, state_dir=cli.state_dir(lab.root)) for t in ORDER}
    objects = {
        "gitlab": f"{projects} groups, {projects * (services + 1)} repositories, {projects * (1 + envs)} deploy keys",
        "harbor": f"{projects} projects, {projects * (1 + envs)} robots",
        "jenkins": f"{projects} folders, {projects * services} jobs, {projects * 3} credentials",
    }
    results = []
    for label in ("first run", "no-change rerun"):
        lab.reset_counts()
        start = time.perf_counter()
        report = seed(
            platform,
            vault,
            accesses,
            SeedOptions(),
            versions=inv.spec["dockyard_catalogue"],
            deploy_content=lambda project: content.deploy_repo_content(platform, project),
        )
        elapsed = time.perf_counter() - start
        counts = lab.counts()
        results.append((label, report, counts))
        summary = report.summary()
        print(
            f"\n{label}: {elapsed:.1f} s; {summary['create']} create, {summary['update']} update, "
            f"{summary['delete']} delete, {summary['noop']} noop; {len(report.failures)} failed, "
            f"{len(report.skipped)} skipped"
        )
        print(f"  {'tool':8} {'reads':>6} {'writes':>7}  objects")
        for tool in ORDER:
            c = counts[tool]
            print(f"  {tool:8} {c['read']:>6} {c['write']:>7}  {objects[tool]}")
        print(
            f"  {'total':8} {sum(c['read'] for c in counts.values()):>6} {sum(c['write'] for c in counts.values()):>7}"
        )
        for failure in report.failures:
            print(f"  FAILED: {failure}")
    rerun_report, rerun_counts = results[1][1], results[1][2]
    violations = lab.violations()
    ok = (
        not rerun_report.failures
        and rerun_report.writes == 0
        and all(c["write"] == 0 for c in rerun_counts.values())
        and not violations
    )
    if violations:
        print(f"\n{len(violations)} API violations seen by the doubles, first: {violations[0]}")
    print("\nrerun: " + ("zero writes, all no-op" if ok else "NOT a no-op"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""One seed run: Harbor, then GitLab, then Jenkins (which consumes the secrets of the other two).

Secrets seed generates are made and stored in the vault first, in one write. A tool that is not
available is skipped with its reason; a tool that fails is reported and the others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.problems import DockyardError
from dockyard.secrets import Vault
from dockyard.seed import content, jenkins_config, service_template
from dockyard.seed import gitlab as gitlab_seed
from dockyard.seed import harbor as harbor_seed
from dockyard.seed import jenkins as jenkins_seed
from dockyard.seed.access import ToolAccess, Unavailable, Unreachable
from dockyard.seed.changes import Recorder, Report
from dockyard.seed.harbor_api import HarborApi
from dockyard.seed.secretstore import SeedSecrets
from dockyard.spec.model import TOOLS, Platform

ORDER = ("harbor", "gitlab", "jenkins")
assert sorted(ORDER) == sorted(TOOLS)


@dataclass(frozen=True)
class SeedOptions:
    dry_run: bool = False
    prune: bool = False
    rotate: bool = False
    deep: bool = False


def seed(
    platform: Platform,
    vault: Vault,
    accesses: Mapping[str, ToolAccess | Unavailable],
    options: SeedOptions,
    *,
    versions: dict[str, Any],
    deploy_content: gitlab_seed.DeployContent,
    known_hosts: str | None = None,
    only: tuple[str, ...] = ORDER,
) -> Report:
    report = Report(dry_run=options.dry_run)
    apply = not options.dry_run
    secrets = SeedSecrets(vault, apply)
    secrets.ensure({**harbor_seed.robot_secrets_wanted(platform), **gitlab_seed.generated_secrets(platform)})
    runners: dict[str, Callable[[ToolAccess, Recorder], None]] = {
        "harbor": lambda access, rec: harbor_seed.HarborReconciler(
            platform, HarborApi(access), secrets, rec, prune=options.prune, rotate=options.rotate, deep=options.deep
        ).run(),
        "gitlab": lambda access, rec: gitlab_seed.GitlabReconciler(
            platform,
            gitlab_seed.connect(access),
            secrets,
            rec,
            source_content=lambda project, service: service_template.render(platform, project, service),
            deploy_content=deploy_content,
            apps_content=lambda: content.apps_repo_content(platform),
            prune=options.prune,
            rotate=options.rotate,
            deep=options.deep,
        ).run(),
        "jenkins": lambda access, rec: jenkins_seed.JenkinsReconciler(
            platform,
            jenkins_seed.connect(access),
            secrets,
            rec,
            images=jenkins_config.build_images(platform, versions),
            known_hosts=known_hosts,
            prune=options.prune,
            deep=options.deep,
        ).run(),
    }
    for tool in ORDER:
        if tool not in only:
            continue
        access = accesses[tool]
        rec = Recorder(tool, report, apply)
        if isinstance(access, Unavailable):
            rec.skip("tool", tool, access.reason)
            continue
        try:
            runners[tool](access, rec)
        except Unreachable as exc:
            rec.skip("tool", tool, str(exc).removeprefix(f"{tool}: "))
        except DockyardError as exc:
            report.failures.extend(exc.lines())
    return report

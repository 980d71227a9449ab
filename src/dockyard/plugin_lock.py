"""The Jenkins plugin lockfile (catalogue component ``jenkins_plugins``): checks that it is closed
under dependencies and holds what the platform needs.

Each plugin artefact carries ``version`` and ``requires`` (plugin id -> minimum version, or ``any``
where the upstream pom leaves the version to the Jenkins BOM), with ``requires_source`` saying where
that was read. Regenerating it on a connected machine is described in docs/jenkins.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

COMPONENT = "jenkins_plugins"
ANY = "any"
# What seed and the pipelines use: the cloud, JCasC, SCM + GitLab trigger, pipelines, credentials
# in builds, SSH for git pushes, folders per project, an authorization strategy, Job DSL.
PLATFORM_NEEDS = (
    "kubernetes",
    "configuration-as-code",
    "git",
    "gitlab-plugin",
    "workflow-aggregator",
    "credentials",
    "credentials-binding",
    "ssh-agent",
    "matrix-auth",
    "cloudbees-folder",
    "job-dsl",
)


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Order Jenkins plugin versions as the update center does, closely enough for minimums:
    numeric parts numerically, ``4423.vb_59f230b_ce53`` by its leading number then the rest."""
    parts = re.split(r"[.\-_]", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def at_least(have: str, need: str) -> bool:
    return need == ANY or version_key(have) >= version_key(need)


def plugins(catalogue: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return dict((catalogue.get(COMPONENT) or {}).get("artefacts") or {})


def problems(catalogue: Mapping[str, Any]) -> list[str]:
    """Everything wrong with the lockfile, one line each (empty when it is closed and complete)."""
    locked = plugins(catalogue)
    found: list[str] = []
    for need in PLATFORM_NEEDS:
        if need not in locked:
            found.append(f"{COMPONENT}: {need}: the platform needs it and the lockfile lacks it")
    for pid, entry in sorted(locked.items()):
        if not entry.get("requires_source"):
            found.append(f"{COMPONENT}.artefacts.{pid}: no requires_source (say where its dependencies were read)")
        for dep, minimum in sorted((entry.get("requires") or {}).items()):
            have = locked.get(dep)
            if have is None:
                found.append(f"{COMPONENT}.artefacts.{pid}: needs {dep} {minimum}, which is not in the lockfile")
            elif not at_least(str(have.get("version")), str(minimum)):
                found.append(
                    f"{COMPONENT}.artefacts.{pid}: needs {dep} >= {minimum}, the lockfile has {have.get('version')}"
                )
    return found

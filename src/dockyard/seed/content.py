"""Where the deploy repo's content comes from: the GitOps layout generator.

Seed does not generate the deploy repo; it pushes what :mod:`dockyard.gitops.deploy_repo` makes
into an empty repository. Everything goes through these two functions, so the generator is wired
in exactly one place.
"""

from __future__ import annotations

from collections.abc import Mapping

from dockyard.gitops import apps_repo, deploy_repo
from dockyard.spec.model import Platform, Project


def deploy_repo_content(platform: Platform, project: Project) -> Mapping[str, bytes]:
    """The initial tree of ``<project>-deploy`` (path -> bytes)."""
    return deploy_repo.deploy_repo_files(platform, project)


def apps_repo_content(platform: Platform) -> Mapping[str, bytes]:
    """The initial tree of the platform's apps repository ``dockyard/argocd-apps``."""
    return apps_repo.apps_repo_files(platform)


def values_path(env: str, service: str) -> str:
    """``envs/<env>/<service>/values.yaml``, as the generator lays it out."""
    return deploy_repo.values_path(env, service)

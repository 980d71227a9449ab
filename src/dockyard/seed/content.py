"""Where the deploy repo's content comes from: the GitOps layout generator (issue 4).

Seed does not generate the deploy repo; it pushes what :mod:`dockyard.gitops.deploy_repo` makes
into an empty repository. Everything goes through these two functions, so the generator is wired
in exactly one place.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType

from dockyard.problems import DockyardError
from dockyard.spec.model import Platform, Project

GENERATOR = "dockyard.gitops.deploy_repo"
# The layout DESIGN.md fixes for values files; used only until the generator is importable.
DESIGN_VALUES_PATH = "envs/{env}/{service}/values.yaml"


def _generator() -> ModuleType | None:
    try:
        return importlib.import_module(GENERATOR)
    except ImportError:
        return None


def deploy_repo_content(platform: Platform, project: Project) -> Mapping[str, bytes]:
    """The initial tree of ``<project>-deploy`` (path -> bytes)."""
    module = _generator()
    if module is None:
        raise DockyardError("deploy repo generator not available (issue 4)")
    files: Mapping[str, bytes] = module.deploy_repo_files(platform, project)
    return files


def values_path(env: str, service: str) -> str:
    """``envs/<env>/<service>/values.yaml``: the generator's answer when it is there."""
    module = _generator()
    if module is not None:
        return str(module.values_path(env, service))
    return DESIGN_VALUES_PATH.format(env=env, service=service)

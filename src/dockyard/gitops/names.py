"""Names, labels and annotations of everything Dockyard puts into an Argo CD.

In the ``one-to-one`` layout every environment has its own Argo CD, so names need no environment:
AppProject ``<project>``, Application ``<project>-<service>``. In the ``central`` layout one Argo CD
holds every environment's objects, so each name gets ``-<env>`` appended. Helm release names are
always ``<project>-<service>`` (``spec.source.helm.releaseName``).
"""

from __future__ import annotations

from dockyard.spec.model import Platform, Project, Service

ARGOCD_NAMESPACE = "argocd"
ARGOCD_RELEASE = "argocd"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
IN_CLUSTER_NAME = "in-cluster"

# The GitLab group holding platform-owned repositories (the apps repository); no project may use it.
PLATFORM_GROUP = "dockyard"
APPS_REPO = "argocd-apps"

# Labels on every object Dockyard applies; pruning only ever touches objects carrying both.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "dockyard"
ENV_LABEL = "dockyard.io/environment"
SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"  # noqa: S105 (a label name)
# ``dockyard.io/value-from.<field>: <source>:<key>``: a Secret field filled in at apply time, never rendered.
VALUE_FROM_PREFIX = "dockyard.io/value-from."

FINALIZER = "resources-finalizer.argocd.argoproj.io"
# The Secret in each application namespace holding the environment's pull-only Harbor robot account
# (written by the argocd phase, dockyard.gitops.workload_objects, from the robot secret seed keeps).
IMAGE_PULL_SECRET = "harbor-pull"  # noqa: S105 (a Secret's name)
PROD_SYNC_ROLE = "role:prod-sync"
DEFAULT_PROJECT = "default"  # Argo CD's own AppProject, rendered locked


def _suffix(platform: Platform, env: str) -> str:
    return f"-{env}" if platform.argocd_layout == "central" else ""


def app_project(platform: Platform, project: Project, env: str) -> str:
    return f"{project.name}{_suffix(platform, env)}"


def application(platform: Platform, project: Project, service: Service, env: str) -> str:
    return f"{release(project, service)}{_suffix(platform, env)}"


def release(project: Project, service: Service) -> str:
    return f"{project.name}-{service.name}"


def repo_secret(platform: Platform, project: Project, env: str) -> str:
    return f"repo-{project.deploy_repo}{_suffix(platform, env)}"


def root_project(platform: Platform, env: str) -> str:
    return f"{PLATFORM_GROUP}{_suffix(platform, env)}"


def root_application(platform: Platform, env: str) -> str:
    return f"{PLATFORM_GROUP}-root{_suffix(platform, env)}"


def apps_repo_secret(platform: Platform, env: str) -> str:
    return f"repo-{APPS_REPO}{_suffix(platform, env)}"


def cluster_secret(env: str) -> str:
    return f"cluster-{env}"


def argocd_env(platform: Platform, env: str) -> str:
    """The environment whose cluster runs the Argo CD that manages ``env``."""
    if platform.argocd_layout == "central" and platform.argocd_central_env:
        return platform.argocd_central_env
    return env


def is_remote(platform: Platform, env: str) -> bool:
    """True when ``env``'s cluster is not the one its Argo CD runs in (central layout)."""
    return argocd_env(platform, env) != env


def deploy_key(env: str, project: Project) -> str:
    """Vault key of the SSH private key the Argo CD of ``env`` reads ``project``'s deploy repo with."""
    return f"argocd.{env}.deploy_key.{project.name}"


def apps_repo_deploy_key(env: str) -> str:
    return f"argocd.{env}.deploy_key.{APPS_REPO}"


def admin_password(env: str) -> str:
    return f"argocd.{env}.admin_password"


def apps_repo_path() -> str:
    """GitLab path of the platform's apps repository (the app-of-apps roots' source)."""
    return f"{PLATFORM_GROUP}/{APPS_REPO}"


def apps_repo_url(platform: Platform) -> str:
    return f"git@{platform.tool_hostname('gitlab')}:{apps_repo_path()}.git"


def apps_env_dir(env: str) -> str:
    """Folder of the apps repository holding ``env``'s Applications."""
    return f"envs/{env}"

"""The names seed gives things: objects in each tool, and the vault keys of their secrets.

One place, so that the reconcilers, the wiring report and the Jenkinsfile agree.
"""

from __future__ import annotations

from dockyard.gitops import names as gitops_names
from dockyard.spec import model
from dockyard.spec.model import Platform, Project, Service

# Every object Dockyard manages says so where people look (descriptions); the machine-readable
# marker lives in a field each reconciler documents (custom attributes, robot description, ...).
MANAGED_NOTE = "Managed by Dockyard (invoke seed): changes made here are overwritten."

# ------------------------------------------------------------------------------------- vault keys
FINGERPRINT_KEY = "seed.fingerprint-key"  # HMAC key for fingerprints of secrets (never leaves the vault)


# GitLab's administrator token: the same key `invoke promote` reads (dockyard.gitops.gitlab_mr).
GITLAB_ROOT_TOKEN_KEY = "gitlab.root_token"  # noqa: S105 (a vault key's name)


def admin_token_key(tool: str) -> str:
    """The vault key of a tool's admin credential (GitLab: a token; Harbor, Jenkins: user:secret)."""
    return GITLAB_ROOT_TOKEN_KEY if tool == "gitlab" else f"{tool}.admin_token"


def robot_secret_key(project: str, robot: str) -> str:
    return f"harbor.robot.{project}-{robot}"


def jenkins_deploy_key_key(project: str) -> str:
    """The private half (OpenSSH format) of Jenkins' GitLab deploy key for ``project``."""
    return f"gitlab.deploy-key.{project}-jenkins"


def argocd_deploy_key_key(env: str, project: str) -> str:
    """The private half of the deploy key the Argo CD of ``env`` reads ``project``'s deploy repo
    with: the key the argocd phase fills the repository Secret from (dockyard.gitops.names.deploy_key)."""
    return f"argocd.{env}.deploy_key.{project}"


def promote_token_key(project: str) -> str:
    """The project access token (Developer, scope api) of ``project``'s deploy repository that
    ``invoke promote`` opens merge requests with: never the administrator's token."""
    return f"gitlab.promote-token.{project}"


def apps_repo_deploy_key_key(env: str) -> str:
    """The private half of the key the Argo CD of ``env`` reads the apps repository with."""
    return gitops_names.apps_repo_deploy_key(env)


def webhook_token_key(project: str) -> str:
    return f"gitlab.webhook-token.{project}"


def project_kubeconfig_key(env: str, project: str) -> str:
    """The kubeconfig of ``project``'s build ServiceAccount (its own namespace only) in ``env``'s
    cluster; written by the argocd phase of ``env``, read by seed into that project's folder."""
    return f"kube.{env}.build-kubeconfig.{project}"


def kubeconfig_key(env: str) -> str:
    """A kubeconfig for Jenkins' build pods in ``env``'s cluster; written by the argocd phase (the build
    namespace's build account's token) or the operator, read by seed."""
    return f"kube.{env}.jenkins-kubeconfig"


# ------------------------------------------------------------------------------------------ Harbor
ROBOT_PREFIX = "robot$"  # Harbor's default robot name prefix
PUSH_ROBOT = "push"


def pull_robot(env: str) -> str:
    return f"pull-{env}"


def robot_full_name(project: str, robot: str) -> str:
    """The name Harbor gives a project robot: ``robot$<project>+<name>``."""
    return f"{ROBOT_PREFIX}{project}+{robot}"


# ------------------------------------------------------------------------------------------ GitLab
JENKINS = "jenkins"
HOOK_NAME = "dockyard-jenkins"
PROMOTE_TOKEN_NAME = "dockyard-promote"  # noqa: S105 (a token's name)
PLATFORM_GROUP = gitops_names.PLATFORM_GROUP  # the platform's own group: the apps repository
APPS_REPO = gitops_names.APPS_REPO
DEFAULT_BRANCH = model.DEFAULT_BRANCH


def argocd_consumer(env: str) -> str:
    return f"argocd-{env}"


def deploy_key_title(project: str, consumer: str) -> str:
    return f"dockyard:{project}:{consumer}"


def source_repo_path(project: Project, service: Service) -> str:
    return f"{project.name}/{service.name}"


def source_repo_url(platform: Platform, project: Project, service: Service) -> str:
    return f"git@{platform.tool_hostname('gitlab')}:{source_repo_path(project, service)}.git"


# ----------------------------------------------------------------------------------------- Jenkins
CLOUD = "dockyard"
POD_TEMPLATE = "dockyard-build"  # runs the tag's code: no credential
RELEASE_POD_TEMPLATE = "dockyard-release"  # pushes and bumps, from the image archive; never runs the tag's code
BUILD_SERVICE_ACCOUNT = "jenkins-build"  # in each project's build namespace, with a Role limited to it
SYSTEM_CLUSTER_CREDENTIAL = "dockyard-build-cluster"  # the kubernetes cloud's (system) credential
HARBOR_CREDENTIAL = "harbor-push"
GITLAB_CREDENTIAL = "gitlab-deploy-key"
KUBECONFIG_CREDENTIAL = "build-kubeconfig"


def jenkins_job(project: Project, service: Service) -> str:
    return f"{project.name}/{service.name}"


def jenkins_webhook_url(platform: Platform, project: Project, service: Service) -> str:
    """The GitLab plugin's per-job webhook endpoint."""
    return f"{platform.tool_url('jenkins')}/project/{project.name}/{service.name}"


# --------------------------------------------------------------------- consumers outside seed
IMAGE_PULL_SECRET = gitops_names.IMAGE_PULL_SECRET  # in each environment namespace of a project

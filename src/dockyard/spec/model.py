"""The platform spec as typed, immutable objects (built only from a validated spec)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

TOOLS = ("gitlab", "harbor", "jenkins")
DEFAULT_MIRROR_HOSTNAME = "mirror"
DEFAULT_MIRROR_REGISTRY_PORT = 5000
DEFAULT_BRANCH = "main"  # of every repository Dockyard creates


@dataclass(frozen=True)
class Environment:
    name: str
    sync: Literal["auto", "manual"]
    sync_windows: tuple[dict[str, Any], ...] = ()
    namespace_prefix: str = ""

    @property
    def automated(self) -> bool:
        return self.sync == "auto"

    def namespace(self, project: str) -> str:
        return f"{self.namespace_prefix}{project}"

    @property
    def deploy_branch(self) -> str:
        """The deploy repository branch this environment's Applications track: the default branch
        (Jenkins and promote commit there) when it syncs automatically; ``env/<name>`` when it syncs
        by hand: a protected branch nobody pushes to, changed only by merging a merge request."""
        return DEFAULT_BRANCH if self.automated else f"env/{self.name}"


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    hostname: str | None = None
    ingress: bool = False
    replicas: int = 1
    health_path: str | None = None
    resources: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Project:
    name: str
    services: tuple[Service, ...]
    environments: tuple[str, ...]
    # Cluster-scoped kinds its Argo CD AppProject may create besides its own Namespace:
    # Argo CD's {group, kind, name} (name optional, a glob).
    cluster_resources: tuple[dict[str, str], ...] = field(default=(), hash=False, compare=False)

    @property
    def deploy_repo(self) -> str:
        return f"{self.name}-deploy"

    def service(self, name: str) -> Service:
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)


@dataclass(frozen=True)
class Tool:
    name: str
    mode: Literal["install", "external"]
    hostname: str
    url: str | None = None
    ca_file: str | None = None
    token_env: str | None = None


ImageTagScheme = Literal["commit", "build-number", "datetime"]


@dataclass(frozen=True)
class CiSettings:
    """How Jenkins builds every service (``dockyard_ci``)."""

    build_tag: str = "build/*"
    release_tag: str = "release/*"
    image_tag: ImageTagScheme = "commit"
    build_env: str | None = None  # None: the first environment
    bump_env: str | None = None  # None: the first environment
    build_namespace: str = "dockyard-builds"  # each project builds in <build_namespace>-<project>
    build_tag_creators: Literal["developers", "maintainers"] = "developers"
    release_tag_creators: Literal["developers", "maintainers"] = "maintainers"

    def build_namespace_of(self, project: str) -> str:
        return f"{self.build_namespace}-{project}"


@dataclass(frozen=True)
class RegistrySettings:
    """Harbor settings for every project (``dockyard_registry``)."""

    scan_on_push: bool = True
    keep_last: int = 10
    retention_schedule: str = "0 0 3 * * *"
    robot_expiry_days: int = 90


@dataclass(frozen=True)
class Platform:
    domain: str
    airgap: bool
    dns: bool
    argocd_layout: Literal["one-to-one", "central"]
    argocd_central_env: str | None
    environments: dict[str, Environment]
    projects: tuple[Project, ...]
    tools: dict[str, Tool]
    mirror_hostname: str = DEFAULT_MIRROR_HOSTNAME
    mirror_registry_port: int = DEFAULT_MIRROR_REGISTRY_PORT
    ci: CiSettings = field(default_factory=CiSettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)

    def fqdn(self, short: str) -> str:
        return f"{short}.{self.domain}"

    def tool_url(self, tool: str) -> str:
        t = self.tools[tool]
        return t.url.rstrip("/") if t.url else f"https://{self.fqdn(t.hostname)}"

    def tool_hostname(self, tool: str) -> str:
        t = self.tools[tool]
        if t.url:
            return t.url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
        return self.fqdn(t.hostname)

    @property
    def mirror_fqdn(self) -> str:
        return self.fqdn(self.mirror_hostname)

    @property
    def mirror_registry(self) -> str:
        return f"{self.mirror_fqdn}:{self.mirror_registry_port}"

    def argocd_hostname(self, env: str) -> str:
        return f"argocd.{env}.{self.domain}"

    def service_hostname(self, project: Project, service: Service, env: str) -> str:
        """``<label>.<env>.<domain>``; the label is ``<service>-<project>`` unless the spec names one."""
        label = service.hostname or f"{service.name}-{project.name}"
        return f"{label}.{env}.{self.domain}"

    def deploy_repo_path(self, project: Project) -> str:
        """GitLab path of the deploy repo: the project's group, then ``<project>-deploy``."""
        return f"{project.name}/{project.deploy_repo}"

    def deploy_repo_url(self, project: Project) -> str:
        """The SSH clone URL Argo CD and Jenkins use (with their deploy keys)."""
        return f"git@{self.tool_hostname('gitlab')}:{self.deploy_repo_path(project)}.git"

    def image_repository(self, project: Project, service: Service) -> str:
        """Where a service's image lives in Harbor: ``<harbor host>/<project>/<service>``."""
        return f"{self.tool_hostname('harbor')}/{project.name}/{service.name}"

    def projects_in(self, env: str) -> list[Project]:
        return [p for p in self.projects if env in p.environments]

    @property
    def build_env(self) -> str:
        """The environment whose cluster runs Jenkins' build pods."""
        return self.ci.build_env or next(iter(self.environments))

    @property
    def bump_env(self) -> str:
        """The environment whose image tag a release build sets in the deploy repo."""
        return self.ci.bump_env or next(iter(self.environments))

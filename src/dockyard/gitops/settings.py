"""Per-environment settings of the Argo CD phase, from the ``dockyard_*`` variables, with their defaults.

| variable | default |
|---|---|
| ``dockyard_state_dir`` | ``<repository>/.dockyard`` |
| ``dockyard_kubeconfig`` | ``<state_dir>/kubeconfig/<env>.yaml`` (the kubeadm phase writes it) |
| ``dockyard_argocd_central_kubeconfig`` | ``<state_dir>/kubeconfig/<central env>.yaml`` |
| ``dockyard_internal_ca_cert`` | ``<state_dir>/pki/ca.crt`` (the internal CA phase writes it) |
| ``dockyard_gitlab_ssh_known_hosts_file`` | ``<state_dir>/gitlab/ssh_known_hosts`` |
| ``dockyard_argocd_ha`` | ``false`` |
| ``dockyard_argocd_tls_secret`` | ``argocd-server-tls`` |
| ``dockyard_argocd_ingress_class`` | ``""`` (the cluster's default IngressClass) |
| ``dockyard_argocd_prod_sync_groups`` | ``[]`` |

Relative paths are relative to the repository root.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.gitops import names
from dockyard.spec.model import Platform

STATE_DIR = ".dockyard"
DEFAULT_TLS_SECRET = "argocd-server-tls"  # noqa: S105 (a Secret's name)


def state_dir(root: Path, spec: Mapping[str, Any]) -> Path:
    return _path(root, spec.get("dockyard_state_dir")) or root / STATE_DIR


def kubeconfig_path(root: Path, spec: Mapping[str, Any], env: str) -> Path:
    """The kubeconfig of ``env``'s cluster: ``dockyard_kubeconfig`` as seen from that env's inventory."""
    return _path(root, spec.get("dockyard_kubeconfig")) or state_dir(root, spec) / "kubeconfig" / f"{env}.yaml"


def internal_ca_path(root: Path, spec: Mapping[str, Any]) -> Path:
    """The internal CA's certificate on the controller (the internal_ca phase writes it)."""
    return _path(root, spec.get("dockyard_internal_ca_cert")) or state_dir(root, spec) / "pki" / "ca.crt"


def known_hosts_path(root: Path, spec: Mapping[str, Any]) -> Path:
    """GitLab's SSH host keys as Dockyard keeps them (Argo CD and the build pods check against them)."""
    return (
        _path(root, spec.get("dockyard_gitlab_ssh_known_hosts_file"))
        or state_dir(root, spec) / "gitlab" / "ssh_known_hosts"
    )


@dataclass(frozen=True)
class ArgoSettings:
    env: str
    state_dir: Path
    kubeconfig: Path
    central_kubeconfig: Path | None
    internal_ca_cert: Path
    known_hosts_file: Path
    ha: bool = False
    tls_secret: str = DEFAULT_TLS_SECRET
    ingress_class: str = ""
    prod_sync_groups: tuple[str, ...] = ()

    @property
    def pki_dir(self) -> Path:
        return self.internal_ca_cert.parent

    @classmethod
    def from_spec(cls, root: Path, spec: Mapping[str, Any], platform: Platform, env: str) -> ArgoSettings:
        state = state_dir(root, spec)
        central = names.argocd_env(platform, env)
        central_kubeconfig = None
        if central != env:
            central_kubeconfig = (
                _path(root, spec.get("dockyard_argocd_central_kubeconfig")) or state / "kubeconfig" / f"{central}.yaml"
            )
        return cls(
            env=env,
            state_dir=state,
            kubeconfig=kubeconfig_path(root, spec, env),
            central_kubeconfig=central_kubeconfig,
            internal_ca_cert=internal_ca_path(root, spec),
            known_hosts_file=known_hosts_path(root, spec),
            ha=bool(spec.get("dockyard_argocd_ha", False)),
            tls_secret=str(spec.get("dockyard_argocd_tls_secret") or DEFAULT_TLS_SECRET),
            ingress_class=str(spec.get("dockyard_argocd_ingress_class") or ""),
            prod_sync_groups=tuple(spec.get("dockyard_argocd_prod_sync_groups") or ()),
        )


@dataclass
class TrustInputs:
    """Files the Argo CD values are made from, read once; ``notes`` say what was missing and why."""

    gitlab_ca_pem: str | None = None
    gitlab_known_hosts: str | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, platform: Platform, settings: ArgoSettings, root: Path) -> TrustInputs:
        result = cls()
        gitlab = platform.tools["gitlab"]
        ca_path = _path(root, gitlab.ca_file) if gitlab.ca_file else settings.internal_ca_cert
        if ca_path and ca_path.is_file():
            result.gitlab_ca_pem = ca_path.read_text(encoding="utf-8")
        else:
            result.notes.append(
                f"no CA certificate at {_show(ca_path, root)}: argocd-tls-certs-cm gets no entry for "
                f"{platform.tool_hostname('gitlab')} (the internal CA phase writes it)"
            )
        if settings.known_hosts_file.is_file():
            result.gitlab_known_hosts = settings.known_hosts_file.read_text(encoding="utf-8")
        else:
            result.notes.append(
                f"no SSH known hosts at {_show(settings.known_hosts_file, root)}: Argo CD cannot clone the deploy "
                f"repositories over SSH until GitLab's host keys are there (ssh-keyscan "
                f"{platform.tool_hostname('gitlab')} > that file, or set dockyard_gitlab_ssh_known_hosts_file)"
            )
        return result


def _path(root: Path, value: Any) -> Path | None:
    if not value:
        return None
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else root / path


def _show(path: Path | None, root: Path) -> str:
    if path is None:
        return "(none)"
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)

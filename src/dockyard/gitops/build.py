"""Assemble one environment's layout from the spec: the one path both ``invoke render`` and the
``argocd`` role take, so what is rendered is what is applied."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard import secrets
from dockyard.gitops import argocd_objects, argocd_values, names
from dockyard.gitops.render import EnvLayout
from dockyard.gitops.secret_values import SecretStore, admin_password
from dockyard.gitops.settings import ArgoSettings, TrustInputs
from dockyard.spec.model import Platform


def env_layout(
    root: Path,
    spec: Mapping[str, Any],
    platform: Platform,
    env: str,
    *,
    store: SecretStore,
    service_addresses: Mapping[str, str] | None = None,
) -> tuple[EnvLayout, ArgoSettings]:
    settings = ArgoSettings.from_spec(root, spec, platform, env)
    objects = argocd_objects.env_objects(platform, env, settings)
    layout = EnvLayout(env=env, objects=objects, values=None)
    if names.argocd_env(platform, env) == env:
        trust = TrustInputs.read(platform, settings, root)
        layout.notes += trust.notes
        admin = admin_password(store, env, secrets.random_password)
        layout.values = argocd_values.chart_values(
            platform,
            env,
            settings=settings,
            dockyard_catalogue=spec.get("dockyard_catalogue") or {},
            trust=trust,
            admin=admin,
            service_addresses=service_addresses,
        )
    return layout, settings

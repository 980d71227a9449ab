"""What the argocd phase writes into an environment's own cluster besides Argo CD's objects.

* In every namespace of a project in the environment: the Namespace itself and the image pull
  Secret ``harbor-pull`` (``kubernetes.io/dockerconfigjson``), filled at apply time from the vault
  with the environment's pull-only Harbor robot (``harbor-pull:<robot> <vault key>``).
* In the build environment's cluster, per project: its own build namespace
  ``<dockyard_ci.build_namespace>-<project>``, the ServiceAccount ``jenkins-build`` with a Role
  limited to that namespace (build pods, their exec and logs), its RoleBinding, and a token Secret
  for it; :func:`project_kubeconfig` turns the token into the kubeconfig that goes to the vault
  (``kube.<build env>.build-kubeconfig.<project>``) and from there into that project's Jenkins
  folder only.

These objects carry Dockyard's labels but are never pruned: a namespace holds a team's workloads,
and removing it is an operator's decision, not a side effect of editing the spec.
"""

from __future__ import annotations

import base64
from typing import Any

import yaml

from dockyard.gitops import names
from dockyard.seed import names as seed_names
from dockyard.spec.model import Platform

RBAC = "rbac.authorization.k8s.io/v1"
TOKEN_SECRET_SUFFIX = "-token"  # noqa: S105 (a name suffix)
# What Jenkins' kubernetes plugin needs in the namespace of the pods it runs (plugin README, RBAC).
BUILD_ROLE_RULES = [
    {
        "apiGroups": [""],
        "resources": ["pods"],
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
]


def _meta(name: str, env: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": {names.MANAGED_BY_LABEL: names.MANAGED_BY, names.ENV_LABEL: env},
    }
    if namespace:
        meta["namespace"] = namespace
    return meta


def _namespace(name: str, env: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name, env)}


def pull_secret_objects(platform: Platform, env: str) -> list[dict[str, Any]]:
    environment = platform.environments[env]
    objects: list[dict[str, Any]] = []
    for project in platform.projects_in(env):
        namespace = environment.namespace(project.name)
        robot = seed_names.pull_robot(env)
        ref = (
            f"harbor-pull:{seed_names.robot_full_name(project.name, robot)} "
            f"{seed_names.robot_secret_key(project.name, robot)}"
        )
        meta = _meta(names.IMAGE_PULL_SECRET, env, namespace)
        meta["annotations"] = {f"{names.VALUE_FROM_PREFIX}.dockerconfigjson": ref}
        objects.append(_namespace(namespace, env))
        objects.append(
            {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "kubernetes.io/dockerconfigjson"}
        )
    return objects


def build_objects(platform: Platform, env: str) -> list[dict[str, Any]]:
    """Per-project build namespaces and accounts, in the build environment's cluster only."""
    if env != platform.build_env:
        return []
    account = seed_names.BUILD_SERVICE_ACCOUNT
    objects: list[dict[str, Any]] = []
    # The build namespace itself holds the account of Jenkins' kubernetes cloud (its default
    # namespace), with the same namespace-bound role; each project builds in its own.
    namespaces = [platform.ci.build_namespace, *(platform.ci.build_namespace_of(p.name) for p in platform.projects)]
    for ns in namespaces:
        token_meta = _meta(f"{account}{TOKEN_SECRET_SUFFIX}", env, ns)
        token_meta["annotations"] = {"kubernetes.io/service-account.name": account}
        objects += [
            _namespace(ns, env),
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(account, env, ns)},
            {"apiVersion": RBAC, "kind": "Role", "metadata": _meta(account, env, ns), "rules": BUILD_ROLE_RULES},
            {
                "apiVersion": RBAC,
                "kind": "RoleBinding",
                "metadata": _meta(account, env, ns),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": ns}],
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": token_meta,
                "type": "kubernetes.io/service-account-token",
            },
        ]
    return objects


def token_secret_ref(platform: Platform, project: str) -> dict[str, Any]:
    return token_secret_in(platform.ci.build_namespace_of(project))


def token_secret_in(namespace: str) -> dict[str, Any]:
    """The build account's token Secret in a build namespace."""
    name = f"{seed_names.BUILD_SERVICE_ACCOUNT}{TOKEN_SECRET_SUFFIX}"
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}}


def project_kubeconfig(server: str, token_secret: dict[str, Any], namespace: str) -> str | None:
    """A kubeconfig for the project's build account, from its token Secret (None until the token
    controller has filled it in)."""
    data = token_secret.get("data") or {}
    if not data.get("token") or not data.get("ca.crt"):
        return None
    token = base64.b64decode(data["token"]).decode()
    user = f"{seed_names.BUILD_SERVICE_ACCOUNT}@{namespace}"
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "build", "cluster": {"server": server, "certificate-authority-data": data["ca.crt"]}}
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": user, "context": {"cluster": "build", "user": user, "namespace": namespace}}],
            "current-context": user,
        },
        sort_keys=False,
    )

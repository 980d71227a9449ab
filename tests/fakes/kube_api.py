"""TEST DOUBLE of the Kubernetes API server: a real HTTP server on 127.0.0.1 (threads) that the real
kubernetes Python client talks to. It is not Kubernetes and is never shipped or imported by src/.

What it serves, as the real API server does:

* discovery: ``/version``, ``/api``, ``/apis``, ``/api/v1``, ``/apis/argoproj.io/v1alpha1`` (the Argo CD
  group only while ``crds_installed`` is true, as before the chart installs the CRDs);
* namespaces (cluster-scoped), secrets and the Argo CD kinds (namespaced): get, list with
  ``labelSelector`` (equality terms), delete (objects with finalizers get a ``deletionTimestamp`` and
  stay until :meth:`KubeAPI.finalize`, as Argo CD's controller would do);
* server-side apply: ``PATCH`` with ``Content-Type: application/apply-patch+yaml``, ``fieldManager``
  required, ``force``, ``dryRun=All``. Each manager's applied configuration is kept; the object is the
  merge of them (lists are atomic) and a field another manager set to a different value is a 409
  conflict unless forced. ``stringData`` of a Secret is folded into ``data``; values of ``data`` must
  be base64; the namespace must exist.
* Argo CD custom resources are validated against the CRD schemas of v3.4.4
  (``tests/reference/argocd/crds-v3.4.4``), unknown fields rejected (strict field validation): 422.

Every request is recorded in :attr:`KubeAPI.requests`; a bearer token is required.

As the cluster's API on a test host (the stand-in kubelet runs it there once ``kubeadm init`` has
written the API server's static pod manifest; tests/standins/kubernetes), it also does, when given
``tls=``: HTTPS with the API server certificate kubeadm made, clients authenticated as the real API
server authenticates them (X.509 client certificates signed by the cluster CA: CN = user, O = groups;
bootstrap tokens ``<id>.<secret>`` checked against the ``bootstrap-token-<id>`` Secrets in
kube-system; anonymous), a small authorizer (system:masters and kubeadm:cluster-admins may do
anything; system:bootstrappers what kubeadm's RBAC lets a joining node do: read cluster-info,
kubeadm-config and kubeadm-certs, register its Node; system:nodes their Nodes; anonymous reads
cluster-info and the health endpoints), Nodes (cluster-scoped), ``/readyz`` ``/livez`` ``/healthz``,
and keeps its objects in ``state_file`` so a restarted kubelet brings the same cluster back.

Subresources: ``<kind>/<name>/status`` (GET; PATCH merge or strategic merge; PUT) writes only the
status, which writes of the main resource then leave alone; ``pods/<name>/eviction`` (POST a
policy/v1 Eviction) deletes the Pod (201) unless a PodDisruptionBudget in its namespace that selects
it allows no disruption (429 TooManyRequests), which is what ``kubectl drain`` and
kubernetes.core.k8s_drain rely on. No Pod runs, so every selected Pod counts as healthy.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.fakes.kube_cluster import (
    BUILTIN,
    CONTROLLER,
    CRD_PLURAL,
    PROTOBUF,
    Resource,
    crd_resources,
    default,
    field_match,
    from_protobuf,
    job_completed,
    label_match,
    openapi_group_version,
    openapi_root,
    replica_set_for,
    schema_errors,
    selector_string,
    status_for,
)

ARGO_GROUP, ARGO_VERSION = "argoproj.io", "v1alpha1"
RBAC_GROUP, RBAC_VERSION = "rbac.authorization.k8s.io", "v1"
SA_TOKEN_TYPE = "kubernetes.io/service-account-token"
# The Argo CD kinds as the double serves them when told their CRDs are installed (crds_installed):
# validated against the reference CRD schemas (tests/crds.py). Kinds from CRDs a client creates are
# validated against the schema in that CRD object (kube_cluster.schema_errors).
ARGO_RESOURCES = {
    "applications": Resource("Application", True, ARGO_GROUP, ARGO_VERSION),
    "appprojects": Resource("AppProject", True, ARGO_GROUP, ARGO_VERSION),
    "applicationsets": Resource("ApplicationSet", True, ARGO_GROUP, ARGO_VERSION),
}
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCHES = ("application/merge-patch+json", "application/strategic-merge-patch+json")
EVENTS_KEPT = 5000  # watch history; an older resourceVersion is 410 Gone, as etcd's compaction makes it


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str


@dataclass
class _Stored:
    obj: dict[str, Any]
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)  # manager -> applied configuration


class KubeAPI:
    """The double. ``with KubeAPI() as api:`` starts it; ``api.kubeconfig(path)`` writes a kubeconfig."""

    def __init__(
        self,
        token: str | None = "test-token",
        *,
        crds_installed: bool = True,
        bind: tuple[str, int] = ("127.0.0.1", 0),
        tls: ClusterTLS | None = None,
        state_file: Path | None = None,
    ) -> None:
        self.token = token
        self.git_version = "v1.34.2"  # what /version answers (the cluster double: its kubeadm's version)
        self.tls = tls
        self.state_file = state_file
        self.account_tokens: dict[str, tuple[str, str]] = {}  # token -> (namespace, service account)
        self.crds_installed = crds_installed
        self.requests: list[Recorded] = []
        self._objects: dict[tuple[str, str, str], _Stored] = {}  # (plural, namespace, name)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a watch waits on it for the next event
        self._events: list[tuple[int, str, tuple[str, str, str], dict[str, Any]]] = []  # (rv, type, key, obj)
        self.resources: dict[str, Resource] = {**BUILTIN, **(ARGO_RESOURCES if crds_installed else {})}
        self.crd_schemas: dict[str, dict[str, Any]] = {}  # resource key (_key) -> openAPIV3Schema, for CRDs' kinds
        self._rv = 100
        for ns in ("default", "kube-system", *(("kube-public", "kube-node-lease") if tls else ())):
            self._objects[("namespaces", "", ns)] = _Stored(
                self._new_meta({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            )
        if state_file is not None and state_file.exists():
            self._load(state_file)
        for key, stored in list(self._objects.items()):
            if key[0] == CRD_PLURAL:
                self._controllers(key, stored)  # serve the kinds of the CRDs it has kept
        self._server = ThreadingHTTPServer(bind, _handler(self))
        if tls is not None:
            self._server.socket = tls.context().wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ------------------------------------------------------------------ lifecycle and test hooks

    def __enter__(self) -> KubeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def kubeconfig(self, path: Path, token: str | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "double",
                            "cluster": {"server": self.url}
                            | ({"certificate-authority": str(self.tls.client_ca)} if self.tls else {}),
                        }
                    ],
                    "users": [{"name": "admin", "user": {"token": token or self.token}}],
                    "contexts": [{"name": "double", "context": {"cluster": "double", "user": "admin"}}],
                    "current-context": "double",
                }
            )
        )
        return path

    def create_namespace(self, name: str) -> None:
        with self._lock:
            obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            self._objects[("namespaces", "", name)] = _Stored(self._new_meta(obj))

    def objects(self, plural: str, namespace: str = "") -> dict[str, dict[str, Any]]:
        with self._lock:
            return {
                k[2]: copy.deepcopy(v.obj) for k, v in self._objects.items() if k[0] == plural and k[1] == namespace
            }

    def edit(self, plural: str, namespace: str, name: str, manager: str, change: dict[str, Any]) -> None:
        """Another field manager (a person with kubectl, Argo CD) applies ``change`` to an object."""
        with self._lock:
            stored = self._objects[(plural, namespace, name)]
            stored.applied[manager] = _merge(stored.applied.get(manager, {}), change)
            self._rebuild(stored)

    def finalize(self, plural: str, namespace: str, name: str) -> None:
        """What Argo CD's controller does once it has cleaned up: drop the finalizers, so the object goes."""
        with self._lock:
            del self._objects[(plural, namespace, name)]

    def mutating_requests(self) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if r.method in ("POST", "PUT", "PATCH", "DELETE") and "All" not in r.query.get("dryRun", [])
        ]

    # ------------------------------------------------------------------ the API

    def handle(
        self,
        method: str,
        raw_path: str,
        headers: dict[str, str],
        body: bytes,
        client: Identity | None = None,
    ) -> tuple[int, dict[str, Any] | str]:
        url = urlsplit(raw_path)
        query = parse_qs(url.query)
        self.requests.append(Recorded(method, url.path, query, headers.get("content-type", "")))
        parts = [p for p in url.path.split("/") if p]
        if self.tls is not None:
            who = client or self._bearer(headers.get("authorization", ""))
            if who is None:
                return 401, _status(401, "Unauthorized", "Unauthorized")
            if method == "GET" and url.path in ("/readyz", "/livez", "/healthz"):
                return 200, "ok"
            if not _allowed(who, method, self._route(parts) or ("", "", ""), parts):
                return 403, _status(403, "Forbidden", f'User "{who.user}" cannot {method} {url.path}')
            code, payload = self._handle(method, url.path, parts, query=query, headers=headers, body=body)
            if code < 300 and method in ("POST", "PUT", "PATCH", "DELETE") and self.state_file is not None:
                with self._lock:
                    self._save(self.state_file)
            return code, payload
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, _status(401, "Unauthorized", "Unauthorized")
        return self._handle(method, url.path, parts, query=query, headers=headers, body=body)

    def _bearer(self, authorization: str) -> Identity | None:
        """No client certificate: a bootstrap token, the double's own token, or anonymous."""
        if not authorization:
            return Identity("system:anonymous", ("system:unauthenticated",))
        token = authorization.removeprefix("Bearer ")
        if self.token and token == self.token:
            return Identity("test-token", ("system:masters",))
        token_id, _, secret = token.partition(".")
        with self._lock:
            stored = self._objects.get(("secrets", "kube-system", f"bootstrap-token-{token_id}"))
        data = (stored.obj.get("data") or {}) if stored else {}
        if not secret or base64.b64decode(data.get("token-secret", "")).decode() != secret:
            return None
        expiration = base64.b64decode(data.get("expiration", "")).decode()
        if expiration and expiration < _now():
            return None
        return Identity(f"system:bootstrap:{token_id}", ("system:bootstrappers", "system:authenticated"))

    def _save(self, path: Path) -> None:
        rows = [{"key": list(k), "obj": v.obj, "applied": v.applied} for k, v in sorted(self._objects.items())]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"rv": self._rv, "objects": rows}))
        tmp.replace(path)

    def _load(self, path: Path) -> None:
        saved = json.loads(path.read_text())
        self._rv = int(saved["rv"])
        for row in saved["objects"]:
            plural, namespace, name = row["key"]
            self._objects[(plural, namespace, name)] = _Stored(row["obj"], row["applied"])

    def _handle(
        self,
        method: str,
        path: str,
        parts: list[str],
        *,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, Any]:
        url = urlsplit(path)
        if method == "GET" and url.path in ("/version", "/version/"):
            return 200, {
                "major": self.git_version.lstrip("v").split(".")[0],
                "minor": self.git_version.split(".")[1],
                "gitVersion": self.git_version,
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.24.9",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if method == "GET" and parts[:2] == ["openapi", "v3"]:
            with self._lock:
                doc = (
                    openapi_root(self.resources)
                    if len(parts) == 2
                    else openapi_group_version(self.resources, "/".join(parts[2:]))
                )
            return (200, doc) if doc else (404, _status(404, "NotFound", f"no OpenAPI document at {url.path}"))
        if method == "GET" and (
            parts in (["api"], ["apis"], ["api", "v1"]) or (len(parts) == 3 and parts[0] == "apis")
        ):
            with self._lock:
                found = self._discovery(parts)
            if found is not None:
                return found
        route = self._route(parts)
        if route is None:
            return 404, _status(404, "NotFound", f"the server could not find the requested resource ({url.path})")
        plural, namespace, name = route
        subresource = _subresource(parts)
        if subresource:
            with self._lock:
                return self._subresource(
                    method,
                    plural,
                    namespace=namespace,
                    name=name,
                    subresource=subresource,
                    query=query,
                    headers=headers,
                    body=body,
                )
        if method == "GET" and not name and query.get("watch", [""])[0] in ("true", "1"):
            return 200, _Watch(
                plural,
                namespace,
                query.get("labelSelector", [""])[0],
                query.get("fieldSelector", [""])[0],
                query.get("resourceVersion", [""])[0],
                float(query.get("timeoutSeconds", ["300"])[0]),
            )
        with self._lock:
            if method == "GET" and name:
                return self._get(plural, namespace, name)
            if method == "GET":
                return self._list(
                    plural, namespace, query.get("labelSelector", [""])[0], query.get("fieldSelector", [""])[0]
                )
            content_type = headers.get("content-type", "").split(";", maxsplit=1)[0].strip()
            if method == "PATCH" and name and content_type == APPLY_PATCH:
                return self._apply(plural, namespace, name, body=body, query=query)
            if method == "PATCH" and name and content_type in MERGE_PATCHES:
                return self._write(
                    plural, namespace, name, body=body, query=query, how="merge", content_type=content_type
                )
            if method == "PATCH" and name:
                return 415, _status(415, "UnsupportedMediaType", f"this test double does not do {content_type} patches")
            if method == "PUT" and name:
                return self._write(
                    plural, namespace, name, body=body, query=query, how="replace", content_type=content_type
                )
            if method == "POST" and not name:
                return self._write(
                    plural, namespace, "", body=body, query=query, how="create", content_type=content_type
                )
            if method == "DELETE" and name:
                return self._delete(plural, namespace, name, query)
        return 405, _status(405, "MethodNotAllowed", f"{method} is not supported by this test double")

    def _discovery(self, parts: list[str]) -> tuple[int, dict[str, Any]] | None:
        if parts == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        versions: dict[str, list[str]] = {}
        for r in self.resources.values():
            if r.group and r.version not in versions.setdefault(r.group, []):
                versions[r.group].append(r.version)
        if parts == ["apis"]:
            groups = []
            for group, vs in sorted(versions.items()):
                listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in vs]
                groups.append({"name": group, "versions": listed, "preferredVersion": listed[0]})
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        group, version = ("", "v1") if parts == ["api", "v1"] else (parts[1], parts[2])
        if group and version not in versions.get(group, []):
            return None
        resources = []
        for plural, r in sorted(self.resources.items()):
            if (r.group, r.version) != (group, version):
                continue
            verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
            resources.append(
                {
                    "name": plural.partition(".")[0],
                    "singularName": r.kind.lower(),
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": verbs,
                }
            )
            if plural in STATUS_SUBRESOURCE:
                resources.append(
                    {"name": f"{plural}/status", "singularName": "", "namespaced": r.namespaced, "kind": r.kind,
                     "verbs": ["get", "patch", "update"]}
                )  # fmt: skip
            if "eviction" in SUBRESOURCES.get(plural, ()):  # kubectl drain looks for it before it evicts
                resources.append(
                    {"name": f"{plural}/eviction", "singularName": "", "namespaced": True, "group": "policy",
                     "version": "v1", "kind": "Eviction", "verbs": ["create"]}
                )  # fmt: skip
        gv = f"{group}/{version}" if group else version
        return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def _key(self, plural: str, group: str) -> str:
        """The double's name for a resource: its plural, or ``plural.group`` when another group
        serves that plural already (networkpolicies of networking.k8s.io and of
        crd.projectcalico.org), as the API server tells them apart by group."""
        known = self.resources.get(plural)
        return plural if known is None or known.group == group else f"{plural}.{group}"

    def _route(self, parts: list[str]) -> tuple[str, str, str] | None:
        if parts[:2] == ["api", "v1"]:
            rest, group, version = parts[2:], "", "v1"
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            rest, group, version = parts[3:], parts[1], parts[2]
        else:
            return None
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        key = self._key(rest[0], group) if rest else ""
        r = self.resources.get(key)
        if len(rest) == 3 and rest[2] in SUBRESOURCES.get(key, ()):
            rest = rest[:2]  # nodes/<name>/status, pods/<name>/eviction: the object they belong to
        if r is None or (r.group, r.version) != (group, version) or len(rest) > 2:
            return None
        plural = key
        if (namespace and not r.namespaced) or (r.namespaced and not namespace and len(rest) == 2):
            return None  # a namespaced kind without a namespace: only a list across all namespaces
        return plural, namespace, rest[1] if len(rest) == 2 else ""

    def _get(self, plural: str, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        stored = self._objects.get((plural, namespace, name))
        if stored is None:
            return 404, _status(404, "NotFound", f'{plural} "{name}" not found', plural, name)
        return 200, copy.deepcopy(stored.obj)

    def _matching(self, plural: str, namespace: str, labels: str, fields: str) -> list[dict[str, Any]]:
        r = self.resources[plural]
        return [
            s.obj
            for (p, ns, _name), s in sorted(self._objects.items())
            if p == plural
            and (ns == namespace or (r.namespaced and not namespace))
            and label_match(labels, s.obj["metadata"].get("labels") or {})
            and field_match(fields, s.obj)
        ]

    def _list(self, plural: str, namespace: str, labels: str, fields: str = "") -> tuple[int, dict[str, Any]]:
        try:
            items = copy.deepcopy(self._matching(plural, namespace, labels, fields))
        except ValueError as exc:
            return 400, _status(400, "BadRequest", str(exc))
        r = self.resources[plural]
        return 200, {
            "apiVersion": r.api_version,
            "kind": f"{r.kind}List",
            "metadata": {"resourceVersion": str(self._rv)},
            "items": items,
        }

    def _check_body(
        self, plural: str, namespace: str, name: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        """What the API server refuses before it stores anything: a body that does not match the URL,
        a missing namespace, bad Secret data, a custom resource its schema does not allow."""
        r = self.resources[plural]
        meta = body.get("metadata") or {}
        if body.get("kind") != r.kind or body.get("apiVersion") != r.api_version or meta.get("name") != name:
            return 400, _status(400, "BadRequest", "kind, apiVersion or name of the body do not match the URL")
        if (meta.get("namespace") or namespace) != namespace:
            return 400, _status(400, "BadRequest", "the namespace of the body does not match the URL")
        if namespace and ("namespaces", "", namespace) not in self._objects:
            return 404, _status(404, "NotFound", f'namespaces "{namespace}" not found', "namespaces", namespace)
        if r.kind == "Secret" and (problem := _fold_string_data(body)):
            return 422, _status(422, "Invalid", problem)
        if plural in self.crd_schemas:
            errors = schema_errors(body, self.crd_schemas[plural])
            if errors:
                return 422, _status(422, "Invalid", f'{r.kind} "{name}" is invalid: ' + "; ".join(errors))
        elif r.group == ARGO_GROUP:
            from tests import crds  # noqa: PLC0415 (jsonschema: only where the double runs with crds_installed)

            errors = crds.errors(body)
            if errors:
                return 422, _status(422, "Invalid", "; ".join(errors))
        if plural == CRD_PLURAL:
            for new_plural, (res, _schema) in crd_resources(body).items():
                known = self.resources.get(self._key(new_plural, res.group))
                if known is not None and (known.group, known.kind) != (res.group, res.kind):
                    return 422, _status(422, "Invalid", f"spec.names.plural: {new_plural} is served already")
        return None

    def _apply(
        self, plural: str, namespace: str, name: str, *, body: bytes, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        manager = query.get("fieldManager", [""])[0]
        if not manager:
            return 422, _status(422, "Invalid", "fieldManager is required for apply requests")
        force = query.get("force", ["false"])[0] == "true"
        dry_run = "All" in query.get("dryRun", [])
        try:
            applied = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            return 400, _status(400, "BadRequest", f"not YAML: {exc}")
        if not isinstance(applied, dict):
            return 400, _status(400, "BadRequest", "the body is not an object")
        if refused := self._check_body(plural, namespace, name, applied):
            return refused
        if plural == CRD_PLURAL:  # the API server resets a CRD's status on create and keeps it on update
            applied.pop("status", None)  # (Calico's manifest ships CRDs with an empty status)
        r = self.resources[plural]
        key = (plural, namespace, name)
        existing = self._objects.get(key)
        stored = copy.deepcopy(existing) if existing else _Stored(self._new_meta(_skeleton(r, namespace, name)))
        if not force:
            conflict = _conflict(stored, manager, applied)
            if conflict:
                return 409, _status(
                    409, "Conflict", f'Apply failed with 1 conflict: conflict with "{conflict[0]}": {conflict[1]}'
                )
        if force:  # the applier takes the fields over: other managers stop owning them
            mine = _leaves(applied)
            for other, config in list(stored.applied.items()):
                if other != manager:
                    stored.applied[other] = _without(config, mine)
        stored.applied.pop(manager, None)
        stored.applied[manager] = applied
        return self._store(key, stored, existing, dry_run=dry_run)

    def _write(
        self,
        plural: str,
        namespace: str,
        name: str,
        *,
        body: bytes,
        query: dict[str, list[str]],
        how: str,
        content_type: str = "application/json",
    ) -> tuple[int, dict[str, Any]]:
        """create (POST), replace (PUT) and JSON merge patch (also for strategic merge patches: this
        double merges lists atomically, as a merge patch does)."""
        try:
            sent = from_protobuf(body) if content_type == PROTOBUF else json.loads(body or b"{}")
        except (ValueError, IndexError) as exc:  # json.JSONDecodeError is a ValueError
            return 415 if content_type == PROTOBUF else 400, _status(400, "BadRequest", f"cannot read the body: {exc}")
        if not isinstance(sent, dict):
            return 400, _status(400, "BadRequest", "the body is not an object")
        manager = query.get("fieldManager", [""])[0] or "before-first-apply"
        dry_run = "All" in query.get("dryRun", [])
        r = self.resources[plural]
        if how == "create":
            meta = sent.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:5]}"
            name = str(meta.get("name", ""))
            if not name:
                return 422, _status(422, "Invalid", "metadata.name: Required value")
        key = (plural, namespace, name)
        existing = self._objects.get(key)
        if how == "create" and existing is not None:
            return 409, _status(409, "AlreadyExists", f'{plural} "{name}" already exists', plural, name)
        if how != "create" and existing is None:
            return 404, _status(404, "NotFound", f'{plural} "{name}" not found', plural, name)
        if how == "merge":
            assert existing is not None
            current = {k: v for k, v in existing.obj.items() if k != "status"}
            current["metadata"] = {
                k: v for k, v in current["metadata"].items() if k not in SERVER_META and k != "managedFields"
            }
            sent = _merge_patch(current, sent)
        wanted_rv = (sent.get("metadata") or {}).get("resourceVersion")
        if how == "replace" and wanted_rv and existing and wanted_rv != existing.obj["metadata"]["resourceVersion"]:
            return 409, _status(
                409, "Conflict", f'Operation cannot be fulfilled on {plural} "{name}": the object has been modified'
            )
        sent.setdefault("apiVersion", r.api_version)
        sent.setdefault("kind", r.kind)
        sent.setdefault("metadata", {})
        if namespace:
            sent["metadata"]["namespace"] = namespace
        if refused := self._check_body(plural, namespace, name, sent):
            return refused
        for k in (*SERVER_META, "managedFields"):
            sent["metadata"].pop(k, None)
        sent.pop("status", None)
        stored = copy.deepcopy(existing) if existing else _Stored(self._new_meta(_skeleton(r, namespace, name)))
        # the object is what was sent, but a write of the main resource leaves its status as it was
        kept = {m: {"status": c["status"]} for m, c in stored.applied.items() if m != CONTROLLER and "status" in c}
        if manager in kept:
            sent["status"] = kept.pop(manager)["status"]
        stored.applied = {m: c for m, c in stored.applied.items() if m == CONTROLLER}
        stored.applied = {manager: sent, **kept, **stored.applied}
        return self._store(key, stored, existing, dry_run=dry_run)

    # ------------------------------------------------------------------ subresources

    def _subresource(
        self,
        method: str,
        plural: str,
        *,
        namespace: str,
        name: str,
        subresource: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, dict[str, Any]]:
        content_type = headers.get("content-type", "").split(";", maxsplit=1)[0].strip()
        if subresource == "status" and method == "GET":
            return self._get(plural, namespace, name)
        if subresource == "status" and method == "PATCH" and content_type in MERGE_PATCHES:
            return self._write_status(plural, namespace, name, body, query, strategic=content_type == MERGE_PATCHES[1])
        if subresource == "status" and method == "PUT":
            return self._write_status(plural, namespace, name, body, query, replace=True)
        if subresource == "status" and method == "PATCH":
            return 415, _status(415, "UnsupportedMediaType", f"this test double does not do {content_type} patches")
        if subresource == "eviction" and method == "POST":
            return self._evict(namespace, name, body, query)
        return 405, _status(405, "MethodNotAllowed", f"{method} {plural}/{subresource} is not supported by this double")

    def _write_status(
        self,
        plural: str,
        namespace: str,
        name: str,
        body: bytes,
        query: dict[str, list[str]],
        *,
        strategic: bool = False,
        replace: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        """A write of the status subresource: only ``.status`` changes (metadata and spec as sent are
        ignored, as the API server ignores them there). PATCH merges (a strategic merge patch merges
        ``conditions`` by ``type``, as their patch strategy says), PUT replaces the status."""
        key = (plural, namespace, name)
        existing = self._objects.get(key)
        if existing is None:
            return 404, _status(404, "NotFound", f'{plural} "{name}" not found', plural, name)
        try:
            sent = json.loads(body or b"{}")
        except ValueError as exc:
            return 400, _status(400, "BadRequest", f"cannot read the body: {exc}")
        if not isinstance(sent, dict) or not isinstance(sent.get("status", {}), dict):
            return 400, _status(400, "BadRequest", "the body is not an object with an object status")
        current = copy.deepcopy(existing.obj.get("status") or {})
        if replace:
            wanted_rv = (sent.get("metadata") or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != existing.obj["metadata"]["resourceVersion"]:
                return 409, _status(
                    409, "Conflict", f'Operation cannot be fulfilled on {plural} "{name}": the object has been modified'
                )
            status = sent.get("status") or {}
        else:
            patch = copy.deepcopy(sent.get("status") or {})
            if strategic and isinstance(patch.get("conditions"), list):
                by_type = {c.get("type"): c for c in current.get("conditions") or []}
                for condition in patch["conditions"]:
                    by_type[condition.get("type")] = {**by_type.get(condition.get("type"), {}), **condition}
                patch["conditions"] = list(by_type.values())
            status = _merge_patch(current, patch)
        manager = query.get("fieldManager", [""])[0] or "before-first-apply"
        stored = copy.deepcopy(existing)
        stored.applied = {m: {k: v for k, v in c.items() if k != "status"} for m, c in stored.applied.items()}
        stored.applied[manager] = {**stored.applied.get(manager, {}), "status": status}
        return self._store(key, stored, existing, dry_run="All" in query.get("dryRun", []))

    def _evict(self, namespace: str, name: str, body: bytes, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """policy/v1 Eviction of a Pod: deleted (201) unless a PodDisruptionBudget of its namespace that
        selects it allows no disruption (429), as the eviction API decides it when every selected Pod
        is healthy (the double runs none, so all are)."""
        try:
            eviction = json.loads(body or b"{}")
        except ValueError as exc:
            return 400, _status(400, "BadRequest", f"cannot read the body: {exc}")
        if not isinstance(eviction, dict) or (
            eviction.get("apiVersion", "policy/v1"),
            eviction.get("kind", "Eviction"),
        ) != (
            "policy/v1",
            "Eviction",
        ):  # a client may leave them out (k8s_drain does): the URL says what the body is
            return 400, _status(400, "BadRequest", "the body of an eviction must be a policy/v1 Eviction")
        if (eviction.get("metadata") or {}).get("name", name) != name:
            return 400, _status(400, "BadRequest", "name in URL does not match name in Eviction object")
        pod = self._objects.get(("pods", namespace, name))
        if pod is None:
            return 404, _status(404, "NotFound", f'pods "{name}" not found', "pods", name)
        labels = pod.obj["metadata"].get("labels") or {}
        for (plural, ns, pdb_name), pdb in sorted(self._objects.items()):
            if plural != "poddisruptionbudgets" or ns != namespace:
                continue
            spec = pdb.obj.get("spec") or {}
            if spec.get("selector") is None or not label_match(selector_string(spec["selector"]), labels):
                continue
            selected = [
                p
                for (pl, pns, _n), p in self._objects.items()
                if pl == "pods"
                and pns == namespace
                and not p.obj["metadata"].get("deletionTimestamp")
                and label_match(selector_string(spec["selector"]), p.obj["metadata"].get("labels") or {})
            ]
            count = len(selected)
            if "minAvailable" in spec:
                needed = _scaled(spec["minAvailable"], count)
                blocked = count - 1 < needed
            else:
                needed = count - _scaled(spec.get("maxUnavailable", 1), count)
                blocked = _scaled(spec.get("maxUnavailable", 1), count) < 1
            if blocked:
                refused = _status(
                    429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget."
                )
                refused["details"] = {
                    "causes": [
                        {
                            "reason": "DisruptionBudget",
                            "message": f"The disruption budget {pdb_name} needs {needed} healthy pods "
                            f"and has {count} currently",
                        }
                    ]
                }
                return 429, refused
        if "All" not in query.get("dryRun", []):
            self._delete("pods", namespace, name, {})
        return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    def _store(
        self, key: tuple[str, str, str], stored: _Stored, existing: _Stored | None, *, dry_run: bool
    ) -> tuple[int, dict[str, Any]]:
        """Rebuild, store, record the event, then let the made-up controllers react."""
        changed = self._rebuild(stored, dry_run=dry_run)
        if dry_run:
            return (201 if existing is None else 200), copy.deepcopy(stored.obj)
        if changed or existing is None:
            self._rv += 1
            stored.obj["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[key] = stored
        if changed or existing is None:
            self._event("ADDED" if existing is None else "MODIFIED", key, stored.obj)
        self._token_controller(stored)
        answer = copy.deepcopy(stored.obj)
        self._controllers(key, stored)
        return (201 if existing is None else 200), answer

    def _delete(
        self, plural: str, namespace: str, name: str, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        key = (plural, namespace, name)
        stored = self._objects.get(key)
        if stored is None:
            return 404, _status(404, "NotFound", f'{plural} "{name}" not found', plural, name)
        if "All" in query.get("dryRun", []):
            return 200, copy.deepcopy(stored.obj)
        if stored.obj["metadata"].get("finalizers"):
            stored.obj["metadata"].setdefault("deletionTimestamp", _now())
            return 200, copy.deepcopy(stored.obj)
        del self._objects[key]
        self._rv += 1
        self._event("DELETED", key, stored.obj)
        uid = stored.obj["metadata"].get("uid")
        for other_key, other in list(self._objects.items()):  # the garbage collector: what it owned goes too
            if any(o.get("uid") == uid for o in other.obj["metadata"].get("ownerReferences") or []):
                self._delete(*other_key, {})
        if plural == CRD_PLURAL:
            for gone, (res, _schema) in crd_resources(stored.obj).items():
                self.crd_schemas.pop(self._key(gone, res.group), None)
                self.resources.pop(self._key(gone, res.group), None)
        return 200, _status(200, "Success", "deleted")

    # ------------------------------------------------------------------ the made-up cluster
    def _controllers(self, key: tuple[str, str, str], stored: _Stored) -> None:
        plural, namespace, _name = key
        obj = stored.obj
        if plural == CRD_PLURAL:
            for new_plural, (resource, schema) in crd_resources(obj).items():
                key = self._key(new_plural, resource.group)
                self.resources[key] = resource
                self.crd_schemas[key] = schema
        if plural == "deployments":
            rs = replica_set_for(obj)
            rs_key = ("replicasets", namespace, rs["metadata"]["name"])
            existing = self._objects.get(rs_key)
            rs_stored = (
                copy.deepcopy(existing)
                if existing
                else _Stored(self._new_meta(_skeleton(self.resources["replicasets"], namespace, rs_key[2])))
            )
            rs_stored.applied[CONTROLLER] = {**rs, "status": rs_stored.applied.get(CONTROLLER, {}).get("status")}
            if existing is None or rs_stored.applied != existing.applied:
                self._store(rs_key, rs_stored, existing, dry_run=False)
        status = job_completed(obj) if obj.get("kind") == "Job" else status_for(obj, self._count("nodes"))
        if status is not None and stored.applied.get(CONTROLLER, {}).get("status") != status:
            stored.applied.setdefault(CONTROLLER, {})["status"] = status
            if self._rebuild(stored):
                self._rv += 1
                stored.obj["metadata"]["resourceVersion"] = str(self._rv)
                self._event("MODIFIED", key, stored.obj)

    def _count(self, plural: str) -> int:
        return sum(1 for k in self._objects if k[0] == plural)

    def _event(self, kind: str, key: tuple[str, str, str], obj: dict[str, Any]) -> None:
        self._events.append((self._rv, kind, key, copy.deepcopy(obj)))
        del self._events[:-EVENTS_KEPT]
        self._changed.notify_all()

    def watch(self, w: _Watch) -> Iterator[dict[str, Any]]:
        """The events a watch from ``w.resource_version`` sees, until its timeout (the caller streams them)."""
        deadline = time.monotonic() + w.timeout
        first: list[dict[str, Any]] = []
        with self._lock:  # what to send first is read under the lock and sent after it
            if w.resource_version in ("", "0"):  # a watch without a version starts with what exists
                after = self._rv
                first = [
                    {"type": "ADDED", "object": copy.deepcopy(obj)}
                    for obj in self._matching(w.plural, w.namespace, w.labels, w.fields)
                ]
            else:
                after = int(w.resource_version)
                if self._events and after < self._events[0][0] - 1:
                    first = [{"type": "ERROR", "object": _status(410, "Expired", f"too old resource version: {after}")}]
                    after = -1
        yield from first
        if after < 0:
            return
        while True:
            with self._lock:
                fresh = [e for e in self._events if e[0] > after]
                if not fresh:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    self._changed.wait(min(left, 5))
                    continue
                after = fresh[-1][0]
                r = self.resources.get(w.plural)
                wanted = [
                    {"type": kind, "object": obj}
                    for _rv, kind, (p, ns, _n), obj in fresh
                    if p == w.plural
                    and (ns == w.namespace or (r is not None and r.namespaced and not w.namespace))
                    and label_match(w.labels, obj["metadata"].get("labels") or {})
                    and field_match(w.fields, obj)
                ]
            yield from wanted

    # ------------------------------------------------------------------ helpers
    def _token_controller(self, stored: _Stored) -> None:
        """As Kubernetes' token controller: a Secret of type service-account-token naming an existing
        ServiceAccount gets ``token``, ``ca.crt`` and ``namespace`` in its data, owned by the
        controller's own field manager (a made-up token this double records for that account)."""
        obj = stored.obj
        if obj.get("kind") != "Secret" or obj.get("type") != SA_TOKEN_TYPE:
            return
        meta = obj["metadata"]
        account = (meta.get("annotations") or {}).get("kubernetes.io/service-account.name", "")
        if ("serviceaccounts", meta.get("namespace", ""), account) not in self._objects:
            return
        if (obj.get("data") or {}).get("token"):
            return
        token = f"sa-{meta['namespace']}-{account}-{uuid.uuid4().hex[:12]}"
        self.account_tokens[token] = (meta["namespace"], account)
        ca = b"-----BEGIN CERTIFICATE-----\ndouble\n-----END CERTIFICATE-----\n"
        data = {
            "token": base64.b64encode(token.encode()).decode(),
            "ca.crt": base64.b64encode(ca).decode(),
            "namespace": base64.b64encode(meta["namespace"].encode()).decode(),
        }
        stored.applied["kube-controller-manager"] = {"data": data}
        self._rebuild(stored)

    def _new_meta(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._rv += 1
        obj["metadata"].update(uid=str(uuid.uuid4()), creationTimestamp=_now(), resourceVersion=str(self._rv))
        return obj

    def _rebuild(self, stored: _Stored, *, dry_run: bool = False) -> bool:
        """Recompute the object from every manager's applied configuration; True when it changed."""
        server_meta = {k: v for k, v in stored.obj["metadata"].items() if k in SERVER_META}
        merged: dict[str, Any] = {}
        for applied in stored.applied.values():
            merged = _merge(merged, applied)
        default(merged)
        merged.setdefault("metadata", {}).update(server_meta)
        if merged.get("kind") == "Secret":
            merged.setdefault("type", "Opaque")
        old = {k: v for k, v in stored.obj.items()}
        old_meta = {k: v for k, v in old.get("metadata", {}).items() if k != "managedFields"}
        changed = {**old, "metadata": old_meta} != {**merged, "metadata": {k: v for k, v in merged["metadata"].items()}}
        previous = {m["manager"]: m for m in stored.obj["metadata"].get("managedFields", [])}
        merged["metadata"]["managedFields"] = [
            {
                "manager": m,
                "operation": "Apply",
                "apiVersion": merged.get("apiVersion"),
                "fieldsType": "FieldsV1",
                "time": _now() if changed or m not in previous else previous[m]["time"],
            }
            for m in stored.applied
        ]
        if "spec" in merged and (old.get("spec") != merged.get("spec")):
            merged["metadata"]["generation"] = int(old_meta.get("generation", 0)) + 1
        stored.obj = merged
        return changed


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for k, v in over.items():
        result[k] = (
            _merge(result[k], v) if isinstance(v, dict) and isinstance(result.get(k), dict) else copy.deepcopy(v)
        )
    return result


def _leaves(obj: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(obj, dict):
        out: dict[tuple[str, ...], Any] = {}
        for k, v in obj.items():
            out.update(_leaves(v, (*prefix, str(k))))
        return out
    return {prefix: obj}


def _without(config: dict[str, Any], paths: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    result = copy.deepcopy(config)
    for path in paths:
        node: Any = result
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return result


def _conflict(stored: _Stored, manager: str, applied: dict[str, Any]) -> tuple[str, str] | None:
    mine = _leaves(applied)
    for other, config in stored.applied.items():
        if other == manager:
            continue
        for path, value in _leaves(config).items():
            if path in mine and mine[path] != value:
                return other, ".".join(path)
    return None


def _fold_string_data(secret: dict[str, Any]) -> str | None:
    for key, value in (secret.get("data") or {}).items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            return f"data[{key}]: illegal base64 data"
    plain = secret.pop("stringData", None) or {}
    if plain:
        data = dict(secret.get("data") or {})
        data.update({k: base64.b64encode(str(v).encode()).decode() for k, v in plain.items()})
        secret["data"] = data
    return None


@dataclass(frozen=True)
class Identity:
    """Who a request is from, as the API server's authenticators say it."""

    user: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class ClusterTLS:
    """The API server's serving certificate and the CA its clients' certificates must chain to."""

    cert: Path
    key: Path
    client_ca: Path

    def context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        ctx.load_verify_locations(self.client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL  # no certificate: a token or anonymous
        return ctx


ADMIN_GROUPS = frozenset({"system:masters", "kubeadm:cluster-admins"})
# What kubeadm's RBAC gives bootstrap tokens (system:bootstrappers:kubeadm:default-node-token) and
# anonymous users (the cluster-info ConfigMap), as resource -> allowed (namespace, name).
BOOTSTRAP_READS = {
    ("configmaps", "kube-public", "cluster-info"),
    ("configmaps", "kube-system", "kubeadm-config"),
    ("secrets", "kube-system", "kubeadm-certs"),
}


def _allowed(who: Identity, method: str, route: tuple[str, str, str], parts: list[str]) -> bool:
    if ADMIN_GROUPS & set(who.groups):
        return True
    plural, namespace, name = route
    discovery = method == "GET" and (not route[0]) and (parts[:1] in (["api"], ["apis"]) or parts == ["version"])
    if who.user == "system:anonymous":
        return (method == "GET" and (plural, namespace, name) == ("configmaps", "kube-public", "cluster-info")) or (
            method == "GET" and parts == ["version"]
        )
    if discovery:
        return True
    if "system:bootstrappers" in who.groups:
        return (method == "GET" and (plural, namespace, name) in BOOTSTRAP_READS) or (
            plural == "nodes" and method in ("GET", "PATCH")
        )
    if "system:nodes" in who.groups:
        return plural == "nodes" and (method == "GET" or name == who.user.removeprefix("system:node:"))
    return False


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(code: int, reason: str, message: str, kind: str = "", name: str = "") -> dict[str, Any]:
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if kind:
        status["details"] = {"name": name, "kind": kind}
    return status


SERVER_META = ("uid", "creationTimestamp", "resourceVersion", "generation", "deletionTimestamp")
STATUS_SUBRESOURCE = frozenset({"deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "nodes", "pods"})
# plural -> the subresources the double routes (<plural>/<name>/<subresource>)
SUBRESOURCES: dict[str, frozenset[str]] = {
    **{plural: frozenset({"status"}) for plural in STATUS_SUBRESOURCE},
    "pods": frozenset({"status", "eviction"}),
}


def _subresource(parts: list[str]) -> str:
    """The subresource a request path names (``.../nodes/<name>/status`` -> ``status``), or ""."""
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]
    return rest[2] if len(rest) == 3 and rest[2] in SUBRESOURCES.get(rest[0], ()) else ""


def _scaled(value: int | str, count: int) -> int:
    """An int-or-percent of a PodDisruptionBudget against ``count`` Pods (percentages round up)."""
    if isinstance(value, str) and value.endswith("%"):
        return -(-int(value[:-1]) * count // 100)
    return int(value)


@dataclass(frozen=True)
class _Watch:
    """A watch request: the handler streams :meth:`KubeAPI.watch` as one JSON event per chunk."""

    plural: str
    namespace: str
    labels: str
    fields: str
    resource_version: str
    timeout: float


def _skeleton(r: Resource, namespace: str, name: str) -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace} if namespace else {"name": name}
    return {"apiVersion": r.api_version, "kind": r.kind, "metadata": meta}


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: null deletes, objects merge, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = _merge_patch(result.get(k), v)
    return result


def _handler(api: KubeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            if isinstance(self.request, ssl.SSLSocket):  # the handshake here, not in the accept loop
                self.request.settimeout(10)
                self.request.do_handshake()
                self.request.settimeout(None)
            super().setup()

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except (ssl.SSLError, ConnectionError, TimeoutError):  # a TCP health check, a client gone
                self.close_connection = True

        def _client(self) -> Identity | None:
            cert = self.request.getpeercert() if isinstance(self.request, ssl.SSLSocket) else None
            if not cert:
                return None
            subject = [pair for rdn in cert.get("subject", ()) for pair in rdn]
            user = next((v for k, v in subject if k == "commonName"), "")
            return Identity(user, tuple(v for k, v in subject if k == "organizationName"))

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            client = self._client()
            code, payload = (
                api.handle(self.command, self.path, headers, body, client)
                if client
                else api.handle(self.command, self.path, headers, body)
            )
            if isinstance(payload, _Watch):
                self._stream(payload)
                return
            text = isinstance(payload, str)
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8" if text else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, w: _Watch) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for event in api.watch(w):
                    line = json.dumps(event).encode() + b"\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (ConnectionError, ssl.SSLError, TimeoutError):
                self.close_connection = True

        do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Run the double on its own (the argocd Molecule scenario does): write a kubeconfig for it,
    detach, record the PID, and serve until SIGTERM."""
    import argparse  # noqa: PLC0415

    from tests.standins import detached  # noqa: PLC0415

    parser = argparse.ArgumentParser(description="TEST DOUBLE of the Kubernetes API server")
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--pid-file", type=Path, required=True)
    parser.add_argument("--namespace", action="append", default=[], help="namespaces that exist from the start")
    args = parser.parse_args(argv)
    detached.stop(args.pid_file)  # one an earlier run left behind
    api = KubeAPI()
    for namespace in args.namespace:
        api.create_namespace(namespace)
    api.kubeconfig(args.kubeconfig)
    detached.serve_detached(args.pid_file, api)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

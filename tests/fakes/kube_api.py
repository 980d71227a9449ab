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
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import json
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

ARGO_GROUP, ARGO_VERSION = "argoproj.io", "v1alpha1"
RBAC_GROUP, RBAC_VERSION = "rbac.authorization.k8s.io", "v1"
SA_TOKEN_TYPE = "kubernetes.io/service-account-token"
# plural -> (kind, namespaced, group, version)
RESOURCES = {
    "namespaces": ("Namespace", False, "", "v1"),
    "nodes": ("Node", False, "", "v1"),
    "secrets": ("Secret", True, "", "v1"),
    "configmaps": ("ConfigMap", True, "", "v1"),
    "serviceaccounts": ("ServiceAccount", True, "", "v1"),
    "roles": ("Role", True, RBAC_GROUP, RBAC_VERSION),
    "rolebindings": ("RoleBinding", True, RBAC_GROUP, RBAC_VERSION),
    "applications": ("Application", True, ARGO_GROUP, ARGO_VERSION),
    "appprojects": ("AppProject", True, ARGO_GROUP, ARGO_VERSION),
    "applicationsets": ("ApplicationSet", True, ARGO_GROUP, ARGO_VERSION),
}
APPLY_PATCH = "application/apply-patch+yaml"


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
        self._rv = 100
        for ns in ("default", "kube-system", *(("kube-public", "kube-node-lease") if tls else ())):
            self._objects[("namespaces", "", ns)] = _Stored(
                self._new_meta({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            )
        if state_file is not None and state_file.exists():
            self._load(state_file)
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
                    "clusters": [{"name": "double", "cluster": {"server": self.url}}],
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
            if code < 300 and method in ("PATCH", "DELETE") and self.state_file is not None:
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
    ) -> tuple[int, dict[str, Any]]:
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
        if (method == "GET" and parts in (["api"], ["apis"])) or (
            method == "GET"
            and parts in (["api", "v1"], ["apis", ARGO_GROUP, ARGO_VERSION], ["apis", RBAC_GROUP, RBAC_VERSION])
        ):
            return self._discovery(parts)
        route = self._route(parts)
        if route is None:
            return 404, _status(404, "NotFound", f"the server could not find the requested resource ({url.path})")
        plural, namespace, name = route
        with self._lock:
            if method == "GET" and name:
                return self._get(plural, namespace, name)
            if method == "GET":
                return self._list(plural, namespace, query.get("labelSelector", [""])[0])
            if method == "PATCH" and name:
                return self._apply(
                    plural, namespace, name, content_type=headers.get("content-type", ""), body=body, query=query
                )
            if method == "DELETE" and name:
                return self._delete(plural, namespace, name, query)
        return 405, _status(405, "MethodNotAllowed", f"{method} is not supported by this test double")

    def _discovery(self, parts: list[str]) -> tuple[int, dict[str, Any]]:
        if parts == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        rbac = {"groupVersion": f"{RBAC_GROUP}/{RBAC_VERSION}", "version": RBAC_VERSION}
        groups = [{"name": RBAC_GROUP, "versions": [rbac], "preferredVersion": rbac}]
        if self.crds_installed:
            gv = {"groupVersion": f"{ARGO_GROUP}/{ARGO_VERSION}", "version": ARGO_VERSION}
            groups.append({"name": ARGO_GROUP, "versions": [gv], "preferredVersion": gv})
        if parts == ["apis"]:
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        group = "" if parts == ["api", "v1"] else RBAC_GROUP if parts[1:2] == [RBAC_GROUP] else ARGO_GROUP
        if group == ARGO_GROUP and not self.crds_installed:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        resources = [
            {
                "name": plural,
                "singularName": kind.lower(),
                "namespaced": namespaced,
                "kind": kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            }
            for plural, (kind, namespaced, g, _v) in RESOURCES.items()
            if g == group
        ]
        version = "v1" if not group else f"{group}/{RBAC_VERSION if group == RBAC_GROUP else ARGO_VERSION}"
        return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": version, "resources": resources}

    def _route(self, parts: list[str]) -> tuple[str, str, str] | None:
        if parts[:2] == ["api", "v1"]:
            rest = parts[2:]
            group = ""
        elif parts[:3] == ["apis", ARGO_GROUP, ARGO_VERSION] and self.crds_installed:
            rest = parts[3:]
            group = ARGO_GROUP
        elif parts[:3] == ["apis", RBAC_GROUP, RBAC_VERSION]:
            rest = parts[3:]
            group = RBAC_GROUP
        else:
            return None
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or rest[0] not in RESOURCES or RESOURCES[rest[0]][2] != group or len(rest) > 2:
            return None
        plural = rest[0]
        if RESOURCES[plural][1] != bool(namespace) and not (plural == "namespaces" and not namespace):
            return None
        return plural, namespace, rest[1] if len(rest) == 2 else ""

    def _get(self, plural: str, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        stored = self._objects.get((plural, namespace, name))
        if stored is None:
            return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
        return 200, copy.deepcopy(stored.obj)

    def _list(self, plural: str, namespace: str, label_selector: str) -> tuple[int, dict[str, Any]]:
        wanted = dict(term.split("=", 1) for term in label_selector.split(",") if term)
        kind, _namespaced, group, version = RESOURCES[plural]
        items = [
            copy.deepcopy(s.obj)
            for (p, ns, _name), s in sorted(self._objects.items())
            if p == plural
            and ns == namespace
            and all((s.obj["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
        ]
        api_version = f"{group}/{version}" if group else version
        return 200, {
            "apiVersion": api_version,
            "kind": f"{kind}List",
            "metadata": {"resourceVersion": str(self._rv)},
            "items": items,
        }

    def _apply(
        self, plural: str, namespace: str, name: str, *, content_type: str, body: bytes, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        if content_type.split(";", maxsplit=1)[0].strip() != APPLY_PATCH:
            return 415, _status(
                415, "UnsupportedMediaType", f"this test double only does server-side apply, not {content_type}"
            )
        manager = query.get("fieldManager", [""])[0]
        if not manager:
            return 422, _status(422, "Invalid", "fieldManager is required for apply requests")
        force = query.get("force", ["false"])[0] == "true"
        dry_run = "All" in query.get("dryRun", [])
        try:
            applied = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            return 400, _status(400, "BadRequest", f"not YAML: {exc}")
        kind, _namespaced, group, version = RESOURCES[plural]
        api_version = f"{group}/{version}" if group else version
        meta = applied.get("metadata") or {}
        if applied.get("kind") != kind or applied.get("apiVersion") != api_version or meta.get("name") != name:
            return 400, _status(400, "BadRequest", "kind, apiVersion or name of the body do not match the URL")
        if namespace and ("namespaces", "", namespace) not in self._objects:
            return 404, _status(404, "NotFound", f'namespaces "{namespace}" not found')
        if kind == "Secret":
            problem = _fold_string_data(applied)
            if problem:
                return 422, _status(422, "Invalid", problem)
        if group == ARGO_GROUP:
            from tests import crds  # noqa: PLC0415 (jsonschema: not on the test hosts, which serve no Argo CD kinds)

            errors = crds.errors(applied)
            if errors:
                return 422, _status(422, "Invalid", "; ".join(errors))
        key = (plural, namespace, name)
        existing = self._objects.get(key)
        stored = (
            copy.deepcopy(existing)
            if existing
            else _Stored(
                self._new_meta(
                    {
                        "apiVersion": api_version,
                        "kind": kind,
                        "metadata": {"name": name, "namespace": namespace} if namespace else {"name": name},
                    }
                )
            )
        )
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
        changed = self._rebuild(stored, dry_run=dry_run)
        if not dry_run:
            if changed or existing is None:
                self._rv += 1
                stored.obj["metadata"]["resourceVersion"] = str(self._rv)
            self._objects[key] = stored
            self._token_controller(stored)
        return (201 if existing is None else 200), copy.deepcopy(stored.obj)

    def _delete(
        self, plural: str, namespace: str, name: str, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        stored = self._objects.get((plural, namespace, name))
        if stored is None:
            return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
        if "All" in query.get("dryRun", []):
            return 200, copy.deepcopy(stored.obj)
        if stored.obj["metadata"].get("finalizers"):
            stored.obj["metadata"].setdefault("deletionTimestamp", _now())
            return 200, copy.deepcopy(stored.obj)
        del self._objects[(plural, namespace, name)]
        return 200, _status(200, "Success", "deleted")

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
        server_meta = {
            k: v
            for k, v in stored.obj["metadata"].items()
            if k in ("uid", "creationTimestamp", "resourceVersion", "generation", "deletionTimestamp")
        }
        merged: dict[str, Any] = {}
        for applied in stored.applied.values():
            merged = _merge(merged, applied)
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


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


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
            text = isinstance(payload, str)
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8" if text else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Run the double on its own (the argocd Molecule scenario does): write a kubeconfig for it,
    detach, record the PID, and serve until SIGTERM."""
    import argparse  # noqa: PLC0415
    import os  # noqa: PLC0415
    import signal  # noqa: PLC0415

    parser = argparse.ArgumentParser(description="TEST DOUBLE of the Kubernetes API server")
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--pid-file", type=Path, required=True)
    parser.add_argument("--namespace", action="append", default=[], help="namespaces that exist from the start")
    args = parser.parse_args(argv)
    if os.fork():  # the caller returns at once; the child serves
        return 0
    os.setsid()
    api = KubeAPI()
    for namespace in args.namespace:
        api.create_namespace(namespace)
    api.kubeconfig(args.kubeconfig)
    args.pid_file.write_text(f"{os.getpid()}\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with api:
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

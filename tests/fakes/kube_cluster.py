"""TEST DOUBLE, the cluster side of tests/fakes/kube_api.py: what a Kubernetes control plane does to
objects after the API server stored them, made up just far enough that real clients (helm 3's
``--wait``/``--atomic`` and hook watches, the kubernetes Python client) see the outcome they would see
on a healthy cluster. No Pod ever runs: a Deployment is "ready" because this module says so. Never
shipped; never imported by src/.

* the built-in kinds the double stores (``BUILTIN``), with the API group and version of each;
* label selectors (equality and set-based, as ``kubectl`` and client-go write them) and the field
  selectors clients use (``metadata.name``, ``metadata.namespace``);
* defaulting the fields readiness checks dereference (Deployment and StatefulSet ``replicas``, update
  strategies, a Service's ``clusterIP``);
* controllers, run synchronously after each write: Deployment -> one ReplicaSet owned by it, with the
  pod template (plus ``pod-template-hash``) and every replica ready; StatefulSet, DaemonSet (one Pod
  per Node object), Job (completes at once, as a later revision, so a watch sees it), Namespace
  (Active), PersistentVolumeClaim (Bound), CustomResourceDefinition (NamesAccepted and Established;
  the double then serves its kinds);
* structural-schema validation of custom resources against their CRD's ``openAPIV3Schema`` (unknown
  fields rejected unless ``x-kubernetes-preserve-unknown-fields``; types and enums);
* the OpenAPI v3 discovery documents that tell kubectl and helm the server validates fields itself
  (``fieldValidation`` on every PATCH), so they do not need the OpenAPI v2 schema.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resource:
    kind: str
    namespaced: bool
    group: str
    version: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RBAC = "rbac.authorization.k8s.io"
APPS = "apps"
# plural -> Resource: the kinds a kubeadm cluster's API server serves that Dockyard's phases touch
BUILTIN: dict[str, Resource] = {
    "namespaces": Resource("Namespace", False, "", "v1"),
    "nodes": Resource("Node", False, "", "v1"),
    "secrets": Resource("Secret", True, "", "v1"),
    "configmaps": Resource("ConfigMap", True, "", "v1"),
    "serviceaccounts": Resource("ServiceAccount", True, "", "v1"),
    "services": Resource("Service", True, "", "v1"),
    "endpoints": Resource("Endpoints", True, "", "v1"),
    "pods": Resource("Pod", True, "", "v1"),
    "persistentvolumeclaims": Resource("PersistentVolumeClaim", True, "", "v1"),
    "roles": Resource("Role", True, RBAC, "v1"),
    "rolebindings": Resource("RoleBinding", True, RBAC, "v1"),
    "clusterroles": Resource("ClusterRole", False, RBAC, "v1"),
    "clusterrolebindings": Resource("ClusterRoleBinding", False, RBAC, "v1"),
    "deployments": Resource("Deployment", True, APPS, "v1"),
    "replicasets": Resource("ReplicaSet", True, APPS, "v1"),
    "statefulsets": Resource("StatefulSet", True, APPS, "v1"),
    "daemonsets": Resource("DaemonSet", True, APPS, "v1"),
    "jobs": Resource("Job", True, "batch", "v1"),
    "poddisruptionbudgets": Resource("PodDisruptionBudget", True, "policy", "v1"),
    "networkpolicies": Resource("NetworkPolicy", True, "networking.k8s.io", "v1"),
    "ingresses": Resource("Ingress", True, "networking.k8s.io", "v1"),
    "ingressclasses": Resource("IngressClass", False, "networking.k8s.io", "v1"),
    "customresourcedefinitions": Resource("CustomResourceDefinition", False, "apiextensions.k8s.io", "v1"),
}
CRD_PLURAL = "customresourcedefinitions"
CONTROLLER = "kube-controller-manager"  # the field manager the made-up controllers write as


# ---------------------------------------------------------------------------------- selectors

_SET_TERM = re.compile(r"^\s*(!?)([A-Za-z0-9._/-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


def split_terms(selector: str) -> list[str]:
    """Split on commas outside parentheses (``a in (x,y),b=c``)."""
    terms, depth, current = [], 0, ""
    for ch in selector:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def label_match(selector: str, labels: dict[str, str]) -> bool:
    """Kubernetes label selector syntax: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a)``,
    ``k``, ``!k``. Raises ValueError on anything else, as the API server answers 400."""
    for term in split_terms(selector):
        if "!=" in term:
            k, v = (s.strip() for s in term.split("!=", 1))
            if labels.get(k) == v:
                return False
            continue
        if "=" in term and " in " not in term and "notin" not in term:
            k, v = (s.strip() for s in term.replace("==", "=").split("=", 1))
            if labels.get(k) != v:
                return False
            continue
        m = _SET_TERM.match(term)
        if not m:
            raise ValueError(f"unable to parse requirement: {term!r}")
        negate, key, op, values = m.groups()
        wanted = {v.strip() for v in (values or "").split(",") if v.strip()}
        if op == "in" and labels.get(key) not in wanted:
            return False
        if op == "notin" and key in labels and labels[key] in wanted:
            return False
        if op is None and (key in labels) == bool(negate):
            return False
    return True


def field_match(selector: str, obj: dict[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    known = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "spec.nodeName": (obj.get("spec") or {}).get("nodeName", ""),
    }
    for term in split_terms(selector):
        negate = "!=" in term
        k, v = (s.strip() for s in term.replace("!=", "=").replace("==", "=").split("=", 1))
        if k not in known:
            raise ValueError(f'field label not supported: "{k}"')
        if (known[k] == v) == negate:
            return False
    return True


def selector_string(selector: dict[str, Any]) -> str:
    """A LabelSelector (matchLabels, matchExpressions) as the query string form."""
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr["operator"], expr["key"], expr.get("values") or []
        terms.append(
            {"In": f"{key} in ({','.join(values)})", "NotIn": f"{key} notin ({','.join(values)})"}.get(
                op, key if op == "Exists" else f"!{key}"
            )
        )
    return ",".join(terms)


# ---------------------------------------------------------------------------------- defaulting


def default(obj: dict[str, Any]) -> None:
    """The defaults the API server's registry sets that readiness checks rely on."""
    kind, spec = obj.get("kind"), obj.get("spec")
    if not isinstance(spec, dict):
        return
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        spec.setdefault("replicas", 1)
    if kind == "Deployment":
        spec.setdefault("strategy", {"type": "RollingUpdate"})
        if spec["strategy"].get("type") == "RollingUpdate":
            spec["strategy"].setdefault("rollingUpdate", {"maxUnavailable": "25%", "maxSurge": "25%"})
    if kind == "StatefulSet":
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    if kind == "DaemonSet":
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}})
    if kind == "Service":
        spec.setdefault("type", "ClusterIP")
        if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
            digest = hashlib.sha256(str((obj["metadata"].get("namespace"), obj["metadata"]["name"])).encode()).digest()
            spec["clusterIP"] = f"10.96.{digest[0]}.{max(digest[1], 1)}"
            spec["clusterIPs"] = [spec["clusterIP"]]


# ---------------------------------------------------------------------------------- controllers


def status_for(obj: dict[str, Any], nodes: int) -> dict[str, Any] | None:
    """The status a healthy cluster's controllers would report for ``obj`` (None: none to set)."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    generation = int(obj["metadata"].get("generation", 1))
    replicas = int(spec.get("replicas", 1))
    if kind == "Deployment":
        return {
            **_counted(generation, replicas, "replicas", "updatedReplicas", "readyReplicas", "availableReplicas"),
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        }
    if kind == "ReplicaSet":
        return _counted(generation, replicas, "replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
    if kind == "StatefulSet":
        revision = f"{obj['metadata']['name']}-{template_hash(spec.get('template') or {})}"
        counts = ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas")
        return {**_counted(generation, replicas, *counts), "currentRevision": revision, "updateRevision": revision}
    if kind == "DaemonSet":  # one Pod per Node object
        counts = ("currentNumberScheduled", "desiredNumberScheduled", "numberAvailable", "numberReady")
        return {**_counted(generation, nodes, *counts, "updatedNumberScheduled"), "numberMisscheduled": 0}
    if kind == "PersistentVolumeClaim":
        return {"phase": "Bound"}
    if kind == "Pod":  # "running" once bound to a Node (nothing runs: the double says so)
        if not spec.get("nodeName"):
            return {"phase": "Pending"}
        return {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    if kind == "CustomResourceDefinition":
        names = spec.get("names") or {}
        return {
            "acceptedNames": names,
            "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
            ],
        }
    return None


def _counted(generation: int, count: int, *fields: str) -> dict[str, Any]:
    """A workload status where every counter says ``count`` (all scheduled, updated, ready)."""
    return {"observedGeneration": generation, **dict.fromkeys(fields, count)}


def job_completed(obj: dict[str, Any]) -> dict[str, Any]:
    """A Job's status once its one Pod succeeded (the double runs nothing)."""
    return {
        "startTime": obj["metadata"].get("creationTimestamp"),
        "completionTime": obj["metadata"].get("creationTimestamp"),
        "succeeded": int((obj.get("spec") or {}).get("completions", 1)),
        "ready": 0,
        "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True"},
            {"type": "Complete", "status": "True"},
        ],
    }


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(repr(sorted(_flatten(template))).encode()).hexdigest()[:10]


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(obj, dict):
        return [pair for k, v in obj.items() for pair in _flatten(v, f"{prefix}.{k}")]
    if isinstance(obj, list):
        return [pair for i, v in enumerate(obj) for pair in _flatten(v, f"{prefix}[{i}]")]
    return [(prefix, repr(obj))]


def replica_set_for(deployment: dict[str, Any]) -> dict[str, Any]:
    """The ReplicaSet the deployment controller makes: the pod template plus ``pod-template-hash``,
    controlled by the Deployment (client-go's GetNewReplicaSet finds it so)."""
    spec = deployment["spec"]
    meta = deployment["metadata"]
    template = copy.deepcopy(spec.get("template") or {})
    digest = template_hash(template)
    template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = digest
    selector = copy.deepcopy(spec.get("selector") or {})
    selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{digest}",
            "namespace": meta.get("namespace", ""),
            "labels": dict(template["metadata"]["labels"]),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"replicas": spec.get("replicas", 1), "selector": selector, "template": template},
    }


def crd_resources(crd: dict[str, Any]) -> dict[str, tuple[Resource, dict[str, Any]]]:
    """plural -> (Resource, the storage version's openAPIV3Schema) of a CustomResourceDefinition."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    storage = next((v for v in versions if v.get("storage")), versions[0] if versions else None)
    if not names.get("plural") or storage is None:
        return {}
    resource = Resource(names["kind"], spec.get("scope", "Namespaced") == "Namespaced", spec["group"], storage["name"])
    schema = (storage.get("schema") or {}).get("openAPIV3Schema") or {}
    return {names["plural"]: (resource, schema)}


# ---------------------------------------------------------------------------------- structural schemas


def schema_errors(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """What the API server says about a custom resource under strict field validation: unknown fields,
    wrong types, values outside an enum. (Not the whole of OpenAPI: no formats, patterns, CEL rules.)"""
    if not schema or (schema.get("x-kubernetes-int-or-string") and isinstance(value, int | str)):
        return []
    errors: list[str] = []
    kind = schema.get("type")
    where = path or "<root>"
    checks = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "integer": int,
        "number": int | float,
    }
    if value is None and schema.get("nullable"):
        return []
    if kind in checks and (not isinstance(value, checks[kind]) or (kind in ("integer", "number") and value is True)):
        return [f"{where}: Invalid value: must be of type {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: Unsupported value: {value!r}")
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if key in props:
                errors += schema_errors(item, props[key], sub)
            elif isinstance(extra, dict):
                errors += schema_errors(item, extra, sub)
            elif path == "" and key in ("apiVersion", "kind", "metadata"):
                continue
            elif props and not schema.get("x-kubernetes-preserve-unknown-fields") and extra is not True:
                errors.append(f'{sub}: unknown field "{sub}"')
        for key in schema.get("required") or []:
            if key not in value:
                errors.append(f"{path + '.' if path else ''}{key}: Required value")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors


# ---------------------------------------------------------------------------------- OpenAPI v3


def openapi_root(resources: dict[str, Resource]) -> dict[str, Any]:
    paths = {}
    for gv in sorted({_gv_path(r) for r in resources.values()}):
        paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={hashlib.sha256(gv.encode()).hexdigest()[:16]}"}
    return {"paths": paths}


def openapi_group_version(resources: dict[str, Resource], gv_path: str) -> dict[str, Any] | None:
    """One group-version's document: for each kind a PATCH operation that names its GVK and takes
    ``fieldValidation``, which is all kubectl's and helm's field-validation check reads."""
    paths: dict[str, Any] = {}
    for plural, r in sorted(resources.items()):
        if _gv_path(r) != gv_path:
            continue
        scope = "/namespaces/{namespace}" if r.namespaced else ""
        paths[f"/{gv_path}{scope}/{plural.partition('.')[0]}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{r.kind}",
                "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
                "parameters": [
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                ],
                "responses": {"200": {"description": "OK"}},
            }
        }
    if not paths:
        return None
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "unversioned"}, "paths": paths}


def _gv_path(r: Resource) -> str:
    return f"apis/{r.group}/{r.version}" if r.group else "api/v1"


# ---------------------------------------------------------------------------------- protobuf bodies

PROTOBUF = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """Protocol buffers' wire format: (field number, varint or length-delimited bytes)."""
    out: list[tuple[int, int | bytes]] = []
    i = 0

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    while i < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            out.append((number, varint()))
        elif wire == 2:
            size = varint()
            out.append((number, data[i : i + size]))
            i += size
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise ValueError(f"protobuf wire type {wire} is not supported by this test double")
    return out


def _text(value: int | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _map(entries: list[int | bytes], as_text: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in entries:
        pairs = dict(_fields(entry)) if isinstance(entry, bytes) else {}
        raw = pairs.get(2, b"")
        value = _text(raw) if as_text else base64.b64encode(raw if isinstance(raw, bytes) else b"").decode()
        result[_text(pairs.get(1, b""))] = value
    return result


def _object_meta(data: bytes) -> dict[str, Any]:
    names = {1: "name", 2: "generateName", 3: "namespace", 6: "resourceVersion"}
    meta: dict[str, Any] = {}
    labels: list[int | bytes] = []
    annotations: list[int | bytes] = []
    for number, value in _fields(data):
        if number in names:
            meta[names[number]] = _text(value)
        elif number == 11:
            labels.append(value)
        elif number == 12:
            annotations.append(value)
        elif number == 14:
            meta.setdefault("finalizers", []).append(_text(value))
    if labels:
        meta["labels"] = _map(labels)
    if annotations:
        meta["annotations"] = _map(annotations)
    return meta


def from_protobuf(body: bytes) -> dict[str, Any]:
    """A typed client's request body (client-go sends Secrets, ConfigMaps and Namespaces as protobuf):
    the Kubernetes envelope (``k8s\\0`` + runtime.Unknown) around the object, as JSON would say it.
    Only the kinds and fields Helm's release storage and namespace creation send."""
    if not body.startswith(_MAGIC):
        raise ValueError("not a Kubernetes protobuf body (no k8s\\0 prefix)")
    envelope = dict(_fields(body[len(_MAGIC) :]))
    type_meta = dict(_fields(envelope.get(1, b""))) if isinstance(envelope.get(1), bytes) else {}
    api_version, kind = _text(type_meta.get(1, b"")), _text(type_meta.get(2, b""))
    raw = envelope.get(2, b"")
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    data: list[int | bytes] = []
    string_data: list[int | bytes] = []
    for number, value in _fields(raw if isinstance(raw, bytes) else b""):
        if number == 1 and isinstance(value, bytes):
            obj["metadata"] = _object_meta(value)
        elif kind == "Secret" and number == 2:
            data.append(value)
        elif kind == "Secret" and number == 3:
            obj["type"] = _text(value)
        elif kind == "Secret" and number == 4:
            string_data.append(value)
        elif kind == "Secret" and number == 5:
            obj["immutable"] = bool(value)
        elif kind == "ConfigMap" and number == 2:
            data.append(value)
        elif kind not in ("Secret", "ConfigMap", "Namespace"):
            raise ValueError(f"this test double reads no protobuf {kind or 'object'}")
    if data:
        obj["data"] = _map(data, as_text=kind == "ConfigMap")
    if string_data:
        obj["stringData"] = _map(string_data)
    return obj

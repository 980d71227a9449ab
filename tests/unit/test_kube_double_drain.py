"""The Kubernetes API double (tests/fakes/kube_api.py) as kubernetes.core.k8s_drain uses it, through the
real kubernetes Python client: cordon (strategic merge patch of the Node), the Pods on the Node by
field selector, evictions (allowed, or 429 while a PodDisruptionBudget allows no disruption), reads
until 404; and the Node status subresource, which only writes .status."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as kube_config

from tests.fakes.kube_api import KubeAPI


@pytest.fixture
def core(tmp_path: Path) -> Iterator[tuple[KubeAPI, k8s.CoreV1Api, k8s.PolicyV1Api]]:
    with KubeAPI() as api:
        api_client = kube_config.new_client_from_config(str(api.kubeconfig(tmp_path / "kubeconfig")))
        yield api, k8s.CoreV1Api(api_client), k8s.PolicyV1Api(api_client)


NODE_INFO = {  # every field of NodeSystemInfo is required (the client checks)
    k: "x"
    for k in (
        "architecture", "bootID", "containerRuntimeVersion", "kernelVersion", "kubeProxyVersion",
        "kubeletVersion", "machineID", "operatingSystem", "osImage", "systemUUID",
    )
}  # fmt: skip


def pod(name: str, node: str, app: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": app}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "registry.example/x:1"}]},
    }


def eviction(name: str) -> k8s.V1Eviction:
    return k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=name, namespace="default"))


def test_drain_as_k8s_drain_does(core: tuple[KubeAPI, k8s.CoreV1Api, k8s.PolicyV1Api]) -> None:
    api, v1, policy = core
    v1.create_node({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "w-1"}})
    v1.patch_node_status("w-1", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    for name, node, app in (("web-1", "w-1", "web"), ("db-1", "w-1", "db"), ("web-2", "w-2", "web")):
        v1.create_namespaced_pod("default", pod(name, node, app))
    policy.create_namespaced_pod_disruption_budget(
        "default",
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}},
        },
    )
    # cordon: k8s_drain's patch_node (the client sends a strategic merge patch); the status stays
    v1.patch_node("w-1", {"spec": {"unschedulable": True}})
    node = v1.read_node("w-1")
    assert node.spec.unschedulable is True and node.status.conditions[0].status == "True"
    assert api.requests[-2].content_type == "application/strategic-merge-patch+json"
    on_node = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=w-1").items
    assert sorted(p.metadata.name for p in on_node) == ["db-1", "web-1"]
    v1.create_namespaced_pod_eviction("web-1", "default", eviction("web-1"))
    with pytest.raises(k8s.ApiException) as gone:
        v1.read_namespaced_pod("web-1", "default")
    assert gone.value.status == 404
    with pytest.raises(k8s.ApiException) as blocked:
        v1.create_namespaced_pod_eviction("db-1", "default", eviction("db-1"))
    assert blocked.value.status == 429
    assert "Cannot evict pod as it would violate the pod's disruption budget." in blocked.value.body
    assert v1.read_namespaced_pod("db-1", "default").metadata.name == "db-1"
    # a second db Pod elsewhere: minAvailable 1 of 2 lets one go
    v1.create_namespaced_pod("default", pod("db-2", "w-2", "db"))
    v1.create_namespaced_pod_eviction("db-1", "default", eviction("db-1"))
    assert v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=w-1").items == []
    # maxUnavailable 0 blocks every eviction of what it selects
    policy.create_namespaced_pod_disruption_budget(
        "default",
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "web"}}},
        },
    )
    with pytest.raises(k8s.ApiException) as zero:
        v1.create_namespaced_pod_eviction("web-2", "default", eviction("web-2"))
    assert zero.value.status == 429
    with pytest.raises(k8s.ApiException) as missing:
        v1.create_namespaced_pod_eviction("nope", "default", eviction("nope"))
    assert missing.value.status == 404


def test_node_status_subresource_writes_only_status(core: tuple[KubeAPI, k8s.CoreV1Api, k8s.PolicyV1Api]) -> None:
    api, v1, _ = core
    v1.create_node(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "cp-1", "labels": {"a": "1"}},
            "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]},
        }
    )
    assert not (v1.read_node("cp-1").status or k8s.V1NodeStatus()).conditions  # a create leaves status out
    # merge patch (the stand-in kubelet's): status changes, the labels sent here do not
    patch = {
        "metadata": {"labels": {"a": "2"}},
        "status": {
            "nodeInfo": {**NODE_INFO, "kubeletVersion": "v1.36.0"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        },
    }
    request = urllib.request.Request(  # noqa: S310 (the double on loopback)
        f"{api.url}/api/v1/nodes/cp-1/status?fieldManager=kubelet",
        data=json.dumps(patch).encode(),
        method="PATCH",
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/merge-patch+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (the double on loopback)
        assert answer.status == 200
    node = v1.read_node_status("cp-1")
    assert node.status.node_info.kubelet_version == "v1.36.0" and node.metadata.labels == {"a": "1"}
    # strategic merge: conditions merge by type
    v1.patch_node_status(
        "cp-1", {"status": {"conditions": [{"type": "MemoryPressure", "status": "False", "reason": "Ok"}]}}
    )
    assert {c.type for c in v1.read_node("cp-1").status.conditions} == {"Ready", "MemoryPressure"}
    # PUT replaces the status; a write of the main resource leaves it alone
    node = v1.read_node("cp-1")
    node.status.conditions = [k8s.V1NodeCondition(type="Ready", status="False", reason="KubeletNotReady")]
    v1.replace_node_status("cp-1", node)
    v1.patch_node("cp-1", {"metadata": {"labels": {"b": "1"}}})
    after = v1.read_node("cp-1")
    assert [(c.type, c.status) for c in after.status.conditions] == [("Ready", "False")]
    assert after.metadata.labels == {"a": "1", "b": "1"}
    with pytest.raises(k8s.ApiException) as missing:
        v1.patch_node_status("nope", {"status": {}})
    assert missing.value.status == 404
    assert any(r.path == "/api/v1/nodes/cp-1/status" and r.method == "PUT" for r in api.requests)

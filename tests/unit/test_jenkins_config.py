"""What seed writes into Jenkins: job and credential XML, and the JCasC cloud, checked against the
vendored Jenkins references (kubernetes plugin, JCasC credentials demo)."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from dockyard import catalogue
from dockyard.seed import jenkins_config as cfg
from dockyard.seed import names, service_template
from dockyard.seed.jenkins import _merge_credential, _subset, job_view
from dockyard.spec.validate import build

ROOT = Path(__file__).resolve().parents[2]
JENKINS_REF = ROOT / "tests" / "reference" / "jenkins"
VERSIONS = catalogue.product()


def platform(**changes: object):
    spec = yaml.safe_load((ROOT / "inventories/platform/group_vars/all/dockyard.yml").read_text())
    spec.update(changes)
    return build(spec)


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 (XML made by the code under test)


def test_job_xml_is_a_pipeline_from_the_service_repo_built_on_tags() -> None:
    p = platform()
    project, service = p.projects[0], p.projects[0].services[0]
    root = parse(cfg.job_xml(p, project, service, "tok&<en>", "desc"))
    assert root.tag == "flow-definition"
    params = {
        d.findtext("name"): d.findtext("defaultValue") for d in root.iter("hudson.model.StringParameterDefinition")
    }
    assert params == service_template.job_parameters(p, project, service)
    trigger = root.find(".//com.dabsquared.gitlabjenkins.GitLabPushTrigger")
    assert trigger is not None
    assert trigger.findtext("secretToken") == "tok&<en>"  # escaped in XML, exact once parsed
    regex = trigger.findtext("targetBranchRegex") or ""
    assert re.match(regex, "refs/tags/release/1.0") and re.match(regex, "refs/tags/build/42")
    assert not re.match(regex, "refs/heads/main") and not re.match(regex, "refs/tags/v1")
    view = job_view(cfg.job_xml(p, project, service, "x", "y"))
    assert view["params"]["SOURCE_REPO"] == "git@gitlab.platform.example.com:shop/cart.git"
    assert view["script"] == service_template.pipeline_script() and view["sandbox"] == "true"


def test_the_job_digest_changes_with_the_spec_and_the_token_but_not_otherwise() -> None:
    p = platform()
    project, service = p.projects[0], p.projects[0].services[0]
    same = cfg.job_digest(p, project, service, "fp1")
    assert same == cfg.job_digest(p, project, service, "fp1")
    assert same != cfg.job_digest(p, project, service, "fp2")
    other = platform(dockyard_ci={"release_tag": "v*"})
    assert same != cfg.job_digest(other, other.projects[0], other.projects[0].services[0], "fp1")


@pytest.mark.parametrize("spec", cfg.folder_credentials(platform(), platform().projects[0]), ids=lambda s: s.id)
def test_credential_xml_carries_the_secret_where_jenkins_reads_it(spec: cfg.CredentialSpec) -> None:
    secret = "line1\nli<ne>2&"
    root = parse(cfg.credential_xml(spec, secret, "managed"))
    assert root.findtext("id") == spec.id and root.findtext("scope") == "GLOBAL"
    if spec.kind == "usernamePassword":
        assert root.findtext("password") == secret and root.findtext("username") == "robot$shop+push"
    elif spec.kind == "sshKey":
        assert root.findtext("privateKeySource/privateKey") == secret and root.findtext("username") == "git"
    else:
        assert base64.b64decode(root.findtext("secretBytes") or "").decode() == secret
        assert root.findtext("fileName") == "kubeconfig"


def _documented_words() -> set[str]:
    """Every word of the vendored kubernetes-plugin docs and JCasC demos (attribute names included)."""
    words: set[str] = set()
    for path in JENKINS_REF.rglob("*"):
        if path.is_file() and path.suffix in (".md", ".yaml", ".yml"):
            words.update(re.findall(r"[A-Za-z]+", path.read_text(errors="replace")))
    return words


def _keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


def test_every_cloud_attribute_seed_sets_is_one_the_kubernetes_plugin_documents() -> None:
    p = platform()
    cloud = cfg.cloud(p, cfg.Cluster("https://k8s:6443", "PEM"), cfg.build_images(p, VERSIONS), "known")
    undocumented = _keys(cloud) - _documented_words()
    assert undocumented == set()


def test_the_system_credential_uses_the_jcasc_file_credential_fields() -> None:
    demo = (JENKINS_REF / "configuration-as-code-plugin/demos/credentials/README.md").read_text()
    example = yaml.safe_load(demo.split("## Example", 1)[1].split("```yaml", 1)[1].split("```", 1)[0])
    documented = next(
        c["file"] for c in example["credentials"]["system"]["domainCredentials"][0]["credentials"] if "file" in c
    )
    ours = cfg.system_credential("apiVersion: v1\n", "managed")["file"]
    assert set(ours) - {"description"} <= set(documented) | {"description"}
    assert base64.b64decode(ours["secretBytes"]).decode() == "apiVersion: v1\n"


def test_pod_template_images_come_from_the_catalogue_or_the_mirror() -> None:
    p = platform()
    images = cfg.build_images(p, VERSIONS)
    git_digest = VERSIONS["build_images"]["artefacts"]["alpine-git"]["sha256"]
    assert images == {  # by digest where the catalogue knows it
        "buildah": "quay.io/buildah/stable:v1.43.0",
        "alpine-git": f"docker.io/alpine/git:v2.52.0@sha256:{git_digest}",
    }
    airgapped = cfg.build_images(platform(dockyard_airgap=True), VERSIONS)
    assert airgapped["buildah"] == "mirror.platform.example.com:5000/quay.io/buildah/stable:v1.43.0"
    cloud = cfg.cloud(p, cfg.Cluster("https://k8s:6443", "PEM"), images, "known")["kubernetes"]
    build, release = cloud["templates"]
    assert build["name"] == names.POD_TEMPLATE == build["label"]
    assert release["name"] == names.RELEASE_POD_TEMPLATE == release["label"]
    for template in (build, release):
        assert [(c["name"], c["image"]) for c in template["containers"]] == [
            ("buildah", images["buildah"]),
            ("git", images["alpine-git"]),
        ]
    assert cloud["skipTlsVerify"] is False and cloud["namespace"] == "dockyard-builds"


def test_build_cluster_reads_server_and_ca_of_the_current_context() -> None:
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nx\n").decode()
    kubeconfig = yaml.safe_dump(
        {
            "clusters": [
                {"name": "a", "cluster": {"server": "https://a:6443"}},
                {"name": "b", "cluster": {"server": "https://b:6443", "certificate-authority-data": ca}},
            ],
            "contexts": [{"name": "ctx", "context": {"cluster": "b", "user": "u"}}],
            "current-context": "ctx",
        }
    )
    cluster = cfg.build_cluster(kubeconfig)
    assert cluster.server == "https://b:6443" and cluster.ca_pem.startswith("-----BEGIN CERTIFICATE-----")
    with pytest.raises(ValueError, match="not a kubeconfig"):
        cfg.build_cluster("just: text")


def test_merging_the_system_credential_keeps_the_others() -> None:
    want = cfg.system_credential("k", "d")
    domains = [
        {"domain": {"name": "x.example"}, "credentials": [{"string": {"id": "in-domain"}}]},
        {
            "credentials": [
                {"string": {"id": "slack"}},
                {"file": {"id": names.SYSTEM_CLUSTER_CREDENTIAL, "description": "old"}},
            ]
        },
    ]
    merged = _merge_credential(domains, want)
    assert merged[0] == domains[0]
    assert merged[1]["credentials"] == [{"string": {"id": "slack"}}, want]
    assert _merge_credential([], want) == [{"credentials": [want]}]


def test_subset_ignores_what_the_export_adds() -> None:
    assert _subset({"a": 1, "l": [{"b": 2}]}, {"a": 1, "x": 9, "l": [{"b": 2, "y": 3}]})
    assert not _subset({"a": 1}, {"a": 2})
    assert not _subset({"l": [{"b": 2}]}, {"l": [{"b": 2}, {"b": 3}]})

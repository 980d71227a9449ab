"""Issue 14: the trust gaps of the seeded platform, each closed with a test that failed before."""

from __future__ import annotations

import base64
import ipaddress
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard import inventory
from dockyard.gitops import argocd_values, git
from dockyard.gitops.secret_values import cluster_credentials
from dockyard.gitops.settings import ArgoSettings
from dockyard.problems import InvalidInput, SpecInvalid
from dockyard.spec.validate import validate
from tests.gitops_helpers import objects, of_kind, render


def _validate(tree: Path, env: str = "dev") -> Any:
    return validate(inventory.load(inventory.InventoryTree(tree), env))


def _problems(tree: Path) -> list[str]:
    with pytest.raises(SpecInvalid) as caught:
        _validate(tree)
    return [str(p) for p in caught.value.problems]


# -------------------------------------------------------------------- 4. reserved names, locked defaults
@pytest.mark.parametrize(
    "name", ["argocd", "kube-system", "kube-public", "kube-anything", "default", "dockyard-builds", "dockyard-builds-x"]
)
def test_reserved_project_names_are_rejected(edit_spec: Callable[..., Path], name: str) -> None:
    tree = edit_spec(lambda spec: spec["dockyard_projects"][0].__setitem__("name", name))
    problems = _problems(tree)
    assert any("dockyard_projects[0].name" in p and "reserved" in p for p in problems), problems


def test_a_namespace_prefix_cannot_reach_a_reserved_namespace(edit_spec: Callable[..., Path]) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["dockyard_environments"]["dev"]["namespace_prefix"] = "kube-"

    problems = _problems(edit_spec(change))
    assert any("reserved" in p and "kube-shop" in p for p in problems), problems


def test_a_service_cannot_take_the_deploy_repos_name(edit_spec: Callable[..., Path]) -> None:
    tree = edit_spec(lambda spec: spec["dockyard_projects"][0]["services"].append({"name": "shop-deploy", "port": 80}))
    problems = _problems(tree)
    assert any("services[2].name" in p and "reserved" in p for p in problems), problems


def test_sso_group_names_are_restricted(edit_spec: Callable[..., Path]) -> None:
    evil = "admins\np, role:readonly, *, *, */*, allow"
    tree = edit_spec(lambda spec: spec.__setitem__("dockyard_argocd_prod_sync_groups", ["ops", evil]))
    problems = _problems(tree)
    assert any("dockyard_argocd_prod_sync_groups[1]" in p for p in problems), problems


def test_policy_csv_never_takes_an_unsafe_group(isolated_root: Path, sample_tree: Path) -> None:
    platform = _validate(sample_tree)
    settings = ArgoSettings.from_spec(isolated_root, {}, platform, "prod")
    unsafe = ArgoSettings(**{**settings.__dict__, "prod_sync_groups": ("ops\ng, x, role:admin",)})
    with pytest.raises(InvalidInput, match="dockyard_argocd_prod_sync_groups"):
        argocd_values.rbac_policy(platform, "prod", unsafe)


def test_default_app_project_is_rendered_locked(isolated_root: Path, sample_tree: Path, tmp_path: Path) -> None:
    render(isolated_root, sample_tree, tmp_path / "out")
    for env in ("dev", "stage", "prod"):
        default = [
            p for p in of_kind(objects(tmp_path / "out", env), "AppProject") if p["metadata"]["name"] == "default"
        ]
        assert len(default) == 1, env
        spec = default[0]["spec"]
        assert spec["sourceRepos"] == [] and spec["destinations"] == []
        assert spec["clusterResourceWhitelist"] == [] and spec["namespaceResourceWhitelist"] == []


# -------------------------------------------------------------------------------- 6. TLS everywhere
def test_argocd_server_serves_tls_behind_the_ingress(isolated_root: Path, sample_tree: Path, tmp_path: Path) -> None:
    render(isolated_root, sample_tree, tmp_path / "out")
    values = yaml.safe_load((tmp_path / "out" / "dev" / "argocd-values.yaml").read_text())
    assert values["configs"]["params"].get("server.insecure") is not True
    annotations = values["server"]["ingress"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/backend-protocol"] == "HTTPS"


def _kubeconfig(path: Path, **cluster: Any) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
                "clusters": [{"name": "k", "cluster": {"server": "https://192.0.2.5:6443", **cluster}}],
                "users": [{"name": "u", "user": {"token": "t0ken-value"}}],
            }
        )
    )
    return path


def test_an_insecure_kubeconfig_is_refused(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "stage.yaml", **{"insecure-skip-tls-verify": True})
    with pytest.raises(InvalidInput) as caught:
        cluster_credentials(path)
    message = str(caught.value)
    assert "insecure-skip-tls-verify" in message and "\n" not in message and str(path) in message
    ok = _kubeconfig(tmp_path / "ok.yaml", **{"certificate-authority-data": base64.b64encode(b"ca").decode()})
    server, config = cluster_credentials(ok)
    assert server == "https://192.0.2.5:6443" and '"insecure": false' in config


# ------------------------------------------------------------------------------- 8. git clone -- URL
def test_git_clone_never_reads_the_url_as_an_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "pwned"
    evil = f"--upload-pack=touch {marker};"
    seen: list[tuple[str, ...]] = []
    real = git.run

    def spy(*args: str, check: bool = True) -> Any:
        seen.append(args)
        return real(*args, check=check)

    monkeypatch.setattr(git, "run", spy)
    with pytest.raises(git.GitError):
        git.clone(evil, tmp_path / "into")
    assert not marker.exists()
    args = seen[0]
    assert args.index("--") == args.index(evil) - 1, args


# ------------------------------------------------------------- 1. prod tracks its protected branch
def test_manual_sync_applications_track_their_protected_branch(
    isolated_root: Path, sample_tree: Path, tmp_path: Path
) -> None:
    render(isolated_root, sample_tree, tmp_path / "out")
    revisions = {
        env: {a["spec"]["source"]["targetRevision"] for a in of_kind(objects(tmp_path / "out", env), "Application")}
        for env in ("dev", "stage", "prod")
    }
    assert revisions["dev"] == revisions["stage"] == {"HEAD"}
    # the root Application tracks the apps repository (HEAD); every service Application env/prod
    assert revisions["prod"] == {"HEAD", "env/prod"}
    prod_services = [
        a for a in of_kind(objects(tmp_path / "out", "prod"), "Application") if a["metadata"]["name"] != "dockyard-root"
    ]
    assert prod_services and all(a["spec"]["source"]["targetRevision"] == "env/prod" for a in prod_services)


# ------------------------------------------------------------------- 2. the pipeline is trusted
def _platform() -> Any:
    from dockyard.spec.validate import build  # noqa: PLC0415

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / SAMPLE_SPEC).read_text())
    return build(spec)


SAMPLE_SPEC = "inventories/platform/group_vars/all/dockyard.yml"


def test_the_pipeline_comes_from_seed_never_from_the_pushed_tag() -> None:
    import xml.etree.ElementTree as ET  # noqa: PLC0415

    from dockyard.seed import jenkins_config, service_template  # noqa: PLC0415

    p = _platform()
    project, service = p.projects[0], p.projects[0].services[0]
    root = ET.fromstring(jenkins_config.job_xml(p, project, service, "tok", "d"))  # noqa: S314
    definition = root.find("definition")
    assert definition is not None
    # an inline script (the job's own configuration, written by seed), not a Jenkinsfile read from the tag
    assert definition.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"
    assert definition.findtext("script") == service_template.pipeline_script()
    assert definition.findtext("sandbox") == "true"
    assert root.find(".//scriptPath") is None and root.find(".//scm") is None
    # the source repository carries no pipeline at all
    assert "Jenkinsfile" not in service_template.render(p, project, service)


def test_credentials_never_share_a_pod_with_the_tags_code() -> None:
    from dockyard.seed import names, service_template  # noqa: PLC0415

    text = service_template.pipeline_script()
    build_part, release_part = text.split("stage('Release')", 1)
    # the tag's Dockerfile and tests run in the build pod, which never binds a credential
    assert "withCredentials" not in build_part
    assert f"inheritFrom '{names.POD_TEMPLATE}'" in build_part
    # pushing and bumping happen in a fresh pod, from the stashed image archive
    assert f"inheritFrom '{names.RELEASE_POD_TEMPLATE}'" in release_part
    assert "unstash" in release_part and "withCredentials" in release_part


def test_build_and_release_tags_are_protected_with_their_creators() -> None:
    from dockyard.seed import gitlab as gitlab_seed  # noqa: PLC0415

    p = _platform()
    reconciler = gitlab_seed.GitlabReconciler.__new__(gitlab_seed.GitlabReconciler)
    reconciler.platform = p
    repo = gitlab_seed.Repo(p.projects[0], p.projects[0].services[0])
    want = reconciler._desired_protection(repo, {})
    assert want["tags"] == {"build/*": gitlab_seed.DEVELOPER, "release/*": gitlab_seed.MAINTAINER}


# ---------------------------------------------------------------- 5. GitLab's host keys, checked
def test_build_pods_check_gitlabs_host_keys() -> None:
    from dockyard.seed import jenkins_config, service_template  # noqa: PLC0415

    text = service_template.pipeline_script()
    assert "accept-new" not in text
    assert "StrictHostKeyChecking=yes" in text and "UserKnownHostsFile=" in text
    p = _platform()
    cluster = jenkins_config.Cluster("https://192.0.2.5:6443", "CA")
    known = "gitlab.platform.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake\n"
    cloud = jenkins_config.cloud(p, cluster, {"buildah": "b", "alpine-git": "g"}, known)
    release = next(t for t in cloud["kubernetes"]["templates"] if t["name"] == "dockyard-release")
    git = next(c for c in release["containers"] if c["name"] == "git")
    assert {"envVar": {"key": "GITLAB_KNOWN_HOSTS", "value": known}} in git["envVars"]
    # the checkout (git plugin on the agent) verifies against the same keys
    security = jenkins_config.host_key_verification(known)
    strategy = security["gitHostKeyVerificationConfiguration"]["sshHostKeyVerificationStrategy"]
    assert strategy == {"manuallyProvidedKeyVerificationStrategy": {"approvedHostKeys": known.strip()}}


# ---------------------------------------------------------------------- 7. the internal CA, confined
def _openssl_verify(ca: Path, leaf: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", "verify", "-CAfile", str(ca), "-purpose", "sslserver", str(leaf)],
        capture_output=True,
        text=True,
        check=False,
    )


POLICY = {"permitted_dns": ("lab.test",), "permitted_ips": ("192.0.2.10", "192.0.2.11")}


def test_ca_has_name_constraints_and_an_encrypted_key(tmp_path: Path) -> None:
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    from dockyard import pki  # noqa: PLC0415

    ca, created = pki.load_or_create_ca(tmp_path / "pki", "Dockyard test CA", passphrase=b"s3cret-pass", **POLICY)
    assert created
    constraints = ca.cert.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    assert constraints.value.permitted_subtrees == [
        x509.DNSName("lab.test"),
        x509.IPAddress(ipaddress.ip_network("192.0.2.10/32")),
        x509.IPAddress(ipaddress.ip_network("192.0.2.11/32")),
    ]
    key_pem = (tmp_path / "pki" / "ca.key").read_bytes()
    assert stat.S_IMODE((tmp_path / "pki" / "ca.key").stat().st_mode) == 0o600
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(key_pem, password=None)  # encrypted
    serialization.load_pem_private_key(key_pem, password=b"s3cret-pass")
    # inside the constraints: verifies; a name outside them is refused by OpenSSL
    pki.ensure_cert(ca, pki.CertRequest("gitlab.lab.test", ("gitlab.lab.test",), ("192.0.2.10",)))
    pki.ensure_cert(ca, pki.CertRequest("evil", ("www.example.com",)))
    ca_file = tmp_path / "pki" / "ca.crt"
    assert _openssl_verify(ca_file, tmp_path / "pki" / "certs" / "gitlab.lab.test.crt").returncode == 0
    refused = _openssl_verify(ca_file, tmp_path / "pki" / "certs" / "evil.crt")
    assert refused.returncode != 0 and "permitted subtree violation" in refused.stdout + refused.stderr
    with pytest.raises(pki.CaError, match="passphrase"):
        pki.load_or_create_ca(tmp_path / "pki", "Dockyard test CA", passphrase=b"wrong", **POLICY)


def test_an_existing_lab_migrates_without_reissuing_its_certificates(tmp_path: Path) -> None:
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    from dockyard import pki  # noqa: PLC0415

    directory = tmp_path / "pki"
    old_ca, _ = pki.load_or_create_ca(directory, "Dockyard test CA")  # as before: no constraints, plain key
    request = pki.CertRequest("gitlab.lab.test", ("gitlab.lab.test",), ("192.0.2.10",))
    pki.ensure_cert(old_ca, request)
    leaf = directory / "certs" / "gitlab.lab.test.crt"
    leaf_before = leaf.read_bytes()
    old_public = old_ca.cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # the next bootstrap: same key, re-signed CA certificate with name constraints, key encrypted
    result = pki.ensure_ca(directory, pki.CaPolicy("Dockyard test CA", b"s3cret-pass", **POLICY))
    assert result.action == "update" and "name constraints" in result.reason and "encrypted" in result.reason
    new_ca = result.ca
    assert new_ca.cert.subject == old_ca.cert.subject and new_ca.cert != old_ca.cert
    assert new_ca.cert.extensions.get_extension_for_class(x509.NameConstraints)
    new_public = new_ca.cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert new_public == old_public
    # the leaf chains to the re-signed CA by issuer name and key: it is not reissued, and verifies
    assert pki.ensure_cert(new_ca, request).action == "noop"
    assert leaf.read_bytes() == leaf_before
    assert _openssl_verify(directory / "ca.crt", leaf).returncode == 0
    with pytest.raises(TypeError):
        serialization.load_pem_private_key((directory / "ca.key").read_bytes(), password=None)
    # and a rerun changes nothing
    again = pki.ensure_ca(directory, pki.CaPolicy("Dockyard test CA", b"s3cret-pass", **POLICY))
    assert again.action == "noop" and again.ca.cert == new_ca.cert

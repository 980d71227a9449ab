"""What seed writes into Jenkins: item XML (folders, pipeline jobs), folder credentials, and the
Configuration-as-Code document for the kubernetes cloud. Pure functions, no I/O.

Who owns what, deliberately:

* **JCasC owns Jenkins' global configuration**: the ``dockyard`` kubernetes cloud, its
  ``dockyard-build`` pod template (buildah + git containers, images from the catalogue) and the
  one *system* credential the cloud connects with. JCasC replaces whatever it declares, so seed
  never writes global state behind its back: it applies its part through JCasC itself, merged
  into what the controller's JCasC export shows (other clouds and system credentials are kept).
* **Everything per project is item configuration**, which JCasC never touches: the folder, its
  credentials (Harbor robot, GitLab deploy key, build-cluster kubeconfig) and the pipeline jobs.
  Folder credentials are visible only to that project's jobs, so one team's pipeline cannot use
  another team's robot or key, and a JCasC reload cannot remove them.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from dockyard import catalogue
from dockyard.seed import names, service_template
from dockyard.seed.fingerprint import digest
from dockyard.seed.markers import format_marker
from dockyard.spec.model import Platform, Project, Service

FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
JOB_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
CredentialKind = Literal["usernamePassword", "sshKey", "file"]


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return "<?xml version='1.1' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="unicode") + "\n"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def description(what: str, fields: dict[str, str]) -> str:
    return f"{names.MANAGED_NOTE} {what} {format_marker(fields)}"


# ----------------------------------------------------------------------------------- folders
def folder_xml(project: Project, text: str) -> str:
    root = ET.Element(FOLDER_CLASS, {"plugin": "cloudbees-folder"})
    _sub(root, "description", text)
    _sub(root, "properties")
    _sub(root, "folderViews")
    _sub(root, "healthMetrics")
    return _xml(root)


@dataclass(frozen=True)
class CredentialSpec:
    id: str
    kind: CredentialKind
    what: str
    vault_key: str
    username: str = ""
    file_name: str = ""

    def settings(self) -> dict[str, str]:
        """The non-secret part, for the digest."""
        return {"kind": self.kind, "username": self.username, "file": self.file_name}


def folder_credentials(platform: Platform, project: Project) -> list[CredentialSpec]:
    p = project.name
    return [
        CredentialSpec(
            names.HARBOR_CREDENTIAL,
            "usernamePassword",
            "Harbor robot that pushes this project's images",
            names.robot_secret_key(p, names.PUSH_ROBOT),
            username=names.robot_full_name(p, names.PUSH_ROBOT),
        ),
        CredentialSpec(
            names.GITLAB_CREDENTIAL,
            "sshKey",
            "GitLab deploy key: clones the source repos, pushes the deploy repo",
            names.jenkins_deploy_key_key(p),
            username="git",
        ),
        CredentialSpec(
            names.KUBECONFIG_CREDENTIAL,
            "file",
            f"kubeconfig of ServiceAccount {names.BUILD_SERVICE_ACCOUNT} in namespace "
            f"{platform.ci.build_namespace_of(p)} of the build cluster ({platform.build_env}), that namespace only",
            names.project_kubeconfig_key(platform.build_env, p),
            file_name="kubeconfig",
        ),
    ]


def credential_xml(spec: CredentialSpec, secret: str, text: str) -> str:
    classes = {
        "usernamePassword": "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl",
        "sshKey": "com.cloudbees.jenkins.plugins.sshcredentials.impl.BasicSSHUserPrivateKey",
        "file": "org.jenkinsci.plugins.plaincredentials.impl.FileCredentialsImpl",
    }
    root = ET.Element(classes[spec.kind])
    _sub(root, "scope", "GLOBAL")
    _sub(root, "id", spec.id)
    _sub(root, "description", text)
    if spec.kind == "usernamePassword":
        _sub(root, "username", spec.username)
        _sub(root, "password", secret)
    elif spec.kind == "sshKey":
        _sub(root, "username", spec.username)
        source = _sub(
            root,
            "privateKeySource",
            **{"class": f"{classes['sshKey']}$DirectEntryPrivateKeySource"},
        )
        _sub(source, "privateKey", secret)
    else:
        _sub(root, "fileName", spec.file_name)
        _sub(root, "secretBytes", base64.b64encode(secret.encode()).decode())
    return _xml(root)


# -------------------------------------------------------------------------------------- jobs
def job_xml(platform: Platform, project: Project, service: Service, token: str, text: str) -> str:
    """A pipeline job built on tag push. Its pipeline is inline (seed's, sandboxed), never the
    pushed tag's: the tag only chooses what is checked out and built."""
    params = service_template.job_parameters(platform, project, service)
    tags = "|".join(service_template.glob_to_regex(t)[1:-1] for t in (platform.ci.build_tag, platform.ci.release_tag))
    root = ET.Element("flow-definition", {"plugin": "workflow-job"})
    _sub(root, "description", text)
    _sub(root, "keepDependencies", "false")
    props = _sub(root, "properties")
    _sub(
        _sub(props, "jenkins.model.BuildDiscarderProperty"),
        "strategy",
        **{"class": "hudson.tasks.LogRotator"},
    ).extend(
        [
            _el("daysToKeep", "-1"),
            _el("numToKeep", "50"),
            _el("artifactDaysToKeep", "-1"),
            _el("artifactNumToKeep", "-1"),
        ]
    )
    definitions = _sub(_sub(props, "hudson.model.ParametersDefinitionProperty"), "parameterDefinitions")
    for name, value in params.items():
        param = _sub(definitions, "hudson.model.StringParameterDefinition")
        _sub(param, "name", name)
        _sub(param, "description", "set by invoke seed from the platform spec")
        _sub(param, "defaultValue", value)
        _sub(param, "trim", "true")
    triggers = _sub(
        _sub(props, "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty"), "triggers"
    )
    trigger = _sub(triggers, "com.dabsquared.gitlabjenkins.GitLabPushTrigger", plugin="gitlab-plugin")
    for tag, value in (
        ("spec", ""),
        ("triggerOnPush", "true"),  # GitLab sends tag pushes as push events; the filter keeps tags only
        ("triggerOnMergeRequest", "false"),
        ("triggerOnPipelineEvent", "false"),
        ("triggerOnAcceptedMergeRequest", "false"),
        ("triggerOnClosedMergeRequest", "false"),
        ("triggerOnApprovedMergeRequest", "false"),
        ("triggerOpenMergeRequestOnPush", "never"),
        ("triggerOnNoteEvent", "false"),
        ("ciSkip", "true"),
        ("setBuildDescription", "true"),
        ("branchFilterType", "RegexBasedFilter"),
        ("targetBranchRegex", f"^refs/tags/({tags})$"),
        ("secretToken", token),
        ("cancelPendingBuildsOnUpdate", "false"),
    ):
        _sub(trigger, tag, value)
    definition = _sub(
        root,
        "definition",
        **{"class": "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition", "plugin": "workflow-cps"},
    )
    _sub(definition, "script", service_template.pipeline_script())
    _sub(definition, "sandbox", "true")
    _sub(root, "disabled", "false")
    return _xml(root)


def _el(tag: str, text: str) -> ET.Element:
    element = ET.Element(tag)
    element.text = text
    return element


def job_digest(platform: Platform, project: Project, service: Service, token_fingerprint: str) -> str:
    """Digest of a job's whole configuration, with the webhook token only as its fingerprint."""
    return digest({"xml": job_xml(platform, project, service, "", ""), "token": token_fingerprint})


# ------------------------------------------------------------------------------------- JCasC
@dataclass(frozen=True)
class Cluster:
    server: str
    ca_pem: str


def build_cluster(kubeconfig: str) -> Cluster:
    """The API server and CA of the current context of a kubeconfig (no credentials read)."""
    try:
        config = yaml.safe_load(kubeconfig) or {}
        contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
        cluster_name = contexts.get(config.get("current-context"), {}).get("cluster")
        clusters = {c["name"]: c["cluster"] for c in config.get("clusters") or []}
        cluster = clusters.get(cluster_name) or next(iter(clusters.values()))
        ca = base64.b64decode(cluster.get("certificate-authority-data", "")).decode()
        return Cluster(server=str(cluster["server"]), ca_pem=ca)
    except (yaml.YAMLError, KeyError, StopIteration, TypeError, ValueError, AttributeError):
        raise ValueError("not a kubeconfig with a cluster server") from None


def build_images(platform: Platform, versions: dict[str, Any]) -> dict[str, str]:
    """The buildah and git images of the pod template, from the catalogue (the mirror's when air-gapped)."""
    source = catalogue.Source(platform.airgap, platform.mirror_fqdn, platform.mirror_registry)
    return {
        name: str(catalogue.resolve(catalogue.artefact(versions, "build_images", name), source)["location"])
        for name in ("buildah", "alpine-git")
    }


def cloud(platform: Platform, cluster: Cluster, images: dict[str, str], known_hosts: str) -> dict[str, Any]:
    """The kubernetes cloud and its two pod templates, as JCasC declares them: ``dockyard-build``
    runs the tag's code, ``dockyard-release`` pushes and bumps (GitLab's host keys in its git
    container). Each project's pipeline runs them in its own build namespace."""
    namespace = platform.ci.build_namespace
    buildah = {
        "name": "buildah",
        "image": images["buildah"],
        "command": "sleep",
        "args": "99d",
        "envVars": [
            {"envVar": {"key": "STORAGE_DRIVER", "value": "vfs"}},
            {"envVar": {"key": "BUILDAH_ISOLATION", "value": "chroot"}},
        ],
    }
    git = {"name": "git", "image": images["alpine-git"], "command": "sleep", "args": "99d"}
    release_git = {**git, "envVars": [{"envVar": {"key": "GITLAB_KNOWN_HOSTS", "value": known_hosts}}]}
    return {
        "kubernetes": {
            "name": names.CLOUD,
            "serverUrl": cluster.server,
            "serverCertificate": cluster.ca_pem,
            "skipTlsVerify": False,
            "namespace": namespace,
            "credentialsId": names.SYSTEM_CLUSTER_CREDENTIAL,
            "jenkinsUrl": platform.tool_url("jenkins"),
            "webSocket": True,
            "templates": [
                {
                    "name": names.POD_TEMPLATE,
                    "label": names.POD_TEMPLATE,
                    "namespace": namespace,
                    "containers": [buildah, git],
                },
                {
                    "name": names.RELEASE_POD_TEMPLATE,
                    "label": names.RELEASE_POD_TEMPLATE,
                    "namespace": namespace,
                    "containers": [buildah, release_git],
                },
            ],
        }
    }


def host_key_verification(known_hosts: str) -> dict[str, Any]:
    """JCasC ``security``: the git plugin checks out over SSH only from hosts with these keys
    (git-client plugin, manually provided keys)."""
    return {
        "gitHostKeyVerificationConfiguration": {
            "sshHostKeyVerificationStrategy": {
                "manuallyProvidedKeyVerificationStrategy": {"approvedHostKeys": known_hosts.strip()}
            }
        }
    }


def system_credential(kubeconfig: str, text: str) -> dict[str, Any]:
    return {
        "file": {
            "scope": "SYSTEM",
            "id": names.SYSTEM_CLUSTER_CREDENTIAL,
            "description": text,
            "fileName": "kubeconfig",
            "secretBytes": base64.b64encode(kubeconfig.encode()).decode(),
        }
    }

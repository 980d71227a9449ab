"""Jenkins (python-jenkins + Configuration as Code): the kubernetes cloud, a folder per project
with its credentials, a pipeline job per service. See :mod:`dockyard.seed.jenkins_config` for
what is written and why JCasC owns the global part.

Reads: every top-level item with its jobs in one tree query per page of 100 folders
(``/api/json?tree=jobs[...]{m,n}``), and the controller's JCasC export (one call). Each folder and
job carries its marker in its description (``created=yes`` when seed made it, and the digest of
what seed last applied); a matching digest means the folder's credentials or the job's
configuration are not read again. ``--deep`` reads them anyway. Credentials' secrets are never read
back: their fingerprints (HMAC, key in the vault) are part of the digests. A folder's
configuration is never rewritten (that would drop its credentials); only its description is.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import jenkins
import requests
import yaml

from dockyard.problems import DockyardError
from dockyard.seed import jenkins_config as cfg
from dockyard.seed import names
from dockyard.seed.access import ToolAccess, raise_for_connection
from dockyard.seed.changes import Recorder
from dockyard.seed.fingerprint import digest
from dockyard.seed.markers import parse_marker
from dockyard.seed.secretstore import SeedSecrets
from dockyard.spec.model import Platform, Project, Service

TOOL = "jenkins"
PAGE_SIZE = 100
EXPORT = "configuration-as-code/export"
CONFIGURE = "configuration-as-code/configure"
CREDENTIALS = "credentials/store/folder/domain/_/"
# The JCasC attributes seed owns (root, attribute). It posts a document declaring only these to
# /configuration-as-code/configure; the role's CASC_JENKINS_CONFIG documents never declare them,
# so a reload of that directory (or a restart) re-applies the role's part and keeps seed's.
SEED_CASC = (("jenkins", "clouds"), ("credentials", "system"), ("security", "gitHostKeyVerificationConfiguration"))


def connect(access: ToolAccess) -> jenkins.Jenkins:
    user, secret = access.basic_auth()
    server = jenkins.Jenkins(access.url, username=user, password=secret, timeout=30)
    # python-jenkins hands session.verify to every request; set it to the CA seed was told to trust.
    server._session.verify = access.verify  # python-jenkins exposes no setter
    return server


def _job_path(*parts: str) -> str:
    return "".join(f"job/{quote(p, safe='')}/" for p in parts)


class JenkinsReconciler:
    def __init__(
        self,
        platform: Platform,
        server: jenkins.Jenkins,
        secrets: SeedSecrets,
        rec: Recorder,
        *,
        images: dict[str, str],
        known_hosts: str | None = None,
        prune: bool = False,
        deep: bool = False,
    ) -> None:
        self.platform = platform
        self.server = server
        self.secrets = secrets
        self.rec = rec
        self.images = images
        self.known_hosts = known_hosts
        self.prune = prune
        self.deep = deep

    @contextlib.contextmanager
    def _step(self, what: str) -> Iterator[None]:
        try:
            yield
        except jenkins.JenkinsException as exc:
            text = str(exc).strip().splitlines()
            raise DockyardError(f"jenkins: {what}: {text[0][:300] if text else type(exc).__name__}") from None
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            raise DockyardError(f"jenkins: {what}: HTTP {status}") from None
        except requests.RequestException as exc:
            raise_for_connection(TOOL, exc)

    def _open(self, method: str, path: str, data: bytes | dict[str, str] | None = None) -> str:
        """Raw HTTP, only for what python-jenkins has no call for (JCasC, descriptions, credential listing)."""
        headers = {"Content-Type": "application/x-yaml; charset=utf-8"} if isinstance(data, bytes) else {}
        request = requests.Request(method, self.server.server + path, data=data, headers=headers)
        return str(self.server.jenkins_open(request))

    # ------------------------------------------------------------------------------------ run
    def run(self) -> None:
        items = self._items()
        kubeconfig = self.secrets.get(names.kubeconfig_key(self.platform.build_env))
        self._casc(kubeconfig)
        for project in self.platform.projects:
            self._project(project, items.get(project.name))
        self._leftovers(items)

    def _items(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        start = 0
        while True:
            tree = f"jobs[name,description,jobs[name,description]]{{{start},{start + PAGE_SIZE}}}"
            with self._step("listing folders and jobs"):
                page = self.server.get_info(query=f"?tree={tree}").get("jobs") or []
            for item in page:
                found[item["name"]] = item
            if len(page) < PAGE_SIZE:
                return found
            start += PAGE_SIZE

    # ---------------------------------------------------------------------------------- JCasC
    def _casc(self, kubeconfig: str | None) -> None:
        cloud_name = f"kubernetes/{names.CLOUD}"
        cred_name = f"system/{names.SYSTEM_CLUSTER_CREDENTIAL}"
        if kubeconfig is None:
            reason = (
                f"no kubeconfig for the build cluster ({self.platform.build_env}) in the vault "
                f"(key {names.kubeconfig_key(self.platform.build_env)}, written by the argocd phase or the operator)"
            )
            self.rec.skip("cloud", cloud_name, reason)
            self.rec.skip("system-credential", cred_name, reason)
            return
        if not (self.known_hosts or "").strip():
            reason = (
                "no SSH host keys of GitLab (.dockyard/gitlab/ssh_known_hosts, or "
                "dockyard_gitlab_ssh_known_hosts_file): build pods verify GitLab's host key and would refuse it"
            )
            self.rec.skip("cloud", cloud_name, reason)
            self.rec.skip("system-credential", cred_name, reason)
            return
        known_hosts = str(self.known_hosts)
        try:
            cluster = cfg.build_cluster(kubeconfig)
        except ValueError as exc:
            raise DockyardError(f"jenkins: vault key {names.kubeconfig_key(self.platform.build_env)}: {exc}") from None
        with self._step("reading the JCasC export"):
            exported = yaml.safe_load(self._open("POST", EXPORT)) or {}
        want_cloud = cfg.cloud(self.platform, cluster, self.images, known_hosts)
        want_security = cfg.host_key_verification(known_hosts)
        security_ok = _subset(want_security, exported.get("security") or {})
        cred_text = cfg.description(
            "kubeconfig of the kubernetes cloud.", {"fp": self.secrets.fingerprints.of(kubeconfig)}
        )
        want_cred = cfg.system_credential(kubeconfig, cred_text)
        clouds = list((exported.get("jenkins") or {}).get("clouds") or [])
        have_cloud = next((c for c in clouds if (c.get("kubernetes") or {}).get("name") == names.CLOUD), None)
        domains = list(((exported.get("credentials") or {}).get("system") or {}).get("domainCredentials") or [])
        have_cred = _find_system_credential(domains)
        cloud_ok = have_cloud is not None and _subset(want_cloud, have_cloud)
        cred_ok = have_cred is not None and all(
            have_cred.get(k) == want_cred["file"][k] for k in ("description", "fileName", "scope")
        )
        self.rec.record(
            "system-credential", cred_name, "noop" if cred_ok else "update" if have_cred else "create", "through JCasC"
        )
        self.rec.record(
            "cloud", cloud_name, "noop" if cloud_ok else "update" if have_cloud else "create", "through JCasC"
        )
        have_security = bool((exported.get("security") or {}).get("gitHostKeyVerificationConfiguration"))
        self.rec.record(
            "host-key-verification",
            "security/gitHostKeyVerificationConfiguration",
            "noop" if security_ok else "update" if have_security else "create",
            "GitLab's SSH host keys, through JCasC",
        )
        if (cloud_ok and cred_ok and security_ok) or not self.rec.apply:
            return
        document: dict[str, Any] = {}
        if not security_ok:
            document["security"] = want_security
        if not cred_ok:  # every other system credential is kept as exported
            document["credentials"] = {"system": {"domainCredentials": _merge_credential(domains, want_cred)}}
        if not cloud_ok:  # every other cloud is kept as exported
            others = [c for c in clouds if c is not have_cloud]
            document["jenkins"] = {"clouds": [*others, want_cloud]}
        outside = sorted(
            f"{root}.{attr}" for root, attrs in document.items() for attr in attrs if (root, attr) not in SEED_CASC
        )
        if outside:  # a programming error: the role's directory may own these
            raise DockyardError(f"jenkins: seed's JCasC document declares {', '.join(outside)}, outside SEED_CASC")
        with self._step("applying the JCasC document"):
            self._open("POST", CONFIGURE, yaml.safe_dump(document, sort_keys=False).encode())

    # --------------------------------------------------------------------------------- folder
    def _project(self, project: Project, have: dict[str, Any] | None) -> None:
        folder = project.name
        specs = cfg.folder_credentials(self.platform, project)
        values = {s.id: self.secrets.get(s.vault_key) for s in specs}
        state = {
            s.id: {**s.settings(), "fp": self.secrets.fingerprints.of(v)}
            for s in specs
            if (v := values[s.id]) is not None
        }
        folder_digest = digest(state)
        marker = parse_marker((have or {}).get("description")) or {}
        created = have is None or marker.get("created") == "yes"
        fields = {"created": "yes" if created else "no"}
        if have is None:
            self.rec.record("folder", folder, "create")
            if self.rec.apply:
                with self._step(f"creating folder {folder}"):
                    text = cfg.description(f"Project {folder}.", fields)
                    self.server.create_job(folder, cfg.folder_xml(project, text))
        elif have.get("_class") != cfg.FOLDER_CLASS:
            raise DockyardError(f"jenkins: {folder}: exists and is not a folder ({have.get('_class')})")
        if have is not None and marker.get("digest") == folder_digest and not self.deep:
            self.rec.record("folder", folder, "noop")
            for spec in specs:
                if spec.id in state:
                    self.rec.record("credential", f"{folder}/{spec.id}", "noop")
        else:
            if have is not None:  # rewriting the digest in its description is bookkeeping, not a change
                self.rec.record("folder", folder, "update" if not marker else "noop", "adopted" if not marker else "")
            self._credentials(project, specs, values, exists=have is not None)
            if self.rec.apply:
                with self._step(f"recording the state of folder {folder}"):
                    text = cfg.description(f"Project {folder}.", {**fields, "digest": folder_digest})
                    self._open("POST", f"{_job_path(folder)}submitDescription", {"description": text})
        for spec in specs:
            if values[spec.id] is None and not self.secrets.planned(spec.vault_key):
                self.rec.skip("credential", f"{folder}/{spec.id}", f"vault key {spec.vault_key} not there yet")
        jobs = (have or {}).get("jobs") or []
        for service in project.services:
            self._job(project, service, next((j for j in jobs if j.get("name") == service.name), None))

    def _credentials(
        self, project: Project, specs: list[cfg.CredentialSpec], values: dict[str, str | None], *, exists: bool
    ) -> None:
        folder = project.name
        current = self._folder_credentials(folder) if exists else {}
        for spec in specs:
            value = values[spec.id]
            name = f"{folder}/{spec.id}"
            if value is None:
                if self.secrets.planned(spec.vault_key):  # dry run: generated first by a real run
                    self.rec.record("credential", name, "update" if spec.id in current else "create", spec.kind)
                continue
            have = current.get(spec.id)
            marker = parse_marker((have or {}).get("description")) or {}
            fields = {
                "created": "yes" if have is None else marker.get("created", "no"),  # one made by hand: adopted
                "fp": self.secrets.fingerprints.of(value),
                "settings": digest(spec.settings()),
            }
            text = cfg.description(spec.what + ".", fields)
            if have is not None and marker == fields:
                self.rec.record("credential", name, "noop")
                continue
            self.rec.record("credential", name, "update" if have else "create", spec.kind)
            if not self.rec.apply:
                continue
            body = cfg.credential_xml(spec, value, text)
            with self._step(f"writing credential {name}"):
                if have is None:
                    self.server.create_credential(folder, body)
                else:
                    self.server.reconfig_credential(folder, body)
        self._credential_leftovers(folder, current, {s.id for s in specs})

    def _folder_credentials(self, folder: str) -> dict[str, dict[str, Any]]:
        # raw HTTP: python-jenkins' list_credentials asks for ids only, seed needs the descriptions
        with self._step(f"listing credentials of {folder}"):
            answer = self._open("GET", f"{_job_path(folder)}{CREDENTIALS}api/json?tree=credentials[id,description]")
        return {c["id"]: c for c in yaml.safe_load(answer).get("credentials") or []}

    def _credential_leftovers(self, folder: str, current: dict[str, dict[str, Any]], wanted: set[str]) -> None:
        for cred_id, have in sorted(current.items()):
            created = (parse_marker(have.get("description")) or {}).get("created") == "yes"
            if cred_id in wanted or not created:
                continue
            if not self.prune:
                self.rec.skip("not-in-spec", f"credential {folder}/{cred_id}", "left in place (--prune deletes it)")
                continue
            self.rec.record("credential", f"{folder}/{cred_id}", "delete")
            if self.rec.apply:
                with self._step(f"deleting credential {folder}/{cred_id}"):
                    self.server.delete_credential(cred_id, folder)

    # ------------------------------------------------------------------------------------ job
    def _job(self, project: Project, service: Service, have: dict[str, Any] | None) -> None:
        name = names.jenkins_job(project, service)
        token = self.secrets.get(names.webhook_token_key(project.name))
        token_fp = self.secrets.fingerprints.of(token) if token is not None else "missing"
        want_digest = cfg.job_digest(self.platform, project, service, token_fp)
        marker = parse_marker((have or {}).get("description")) or {}
        created = have is None or marker.get("created") == "yes"
        text = cfg.description(
            f"Pipeline of service {service.name}: builds on tag push from GitLab.",
            {"created": "yes" if created else "no", "digest": want_digest},
        )
        up_to_date = have is not None and marker.get("digest") == want_digest
        if up_to_date and (not self.deep or self._same_job(project, service)):
            self.rec.record("job", name, "noop")
            return
        self.rec.record("job", name, "update" if have else "create", "seed's pipeline (inline), tag trigger")
        if not self.rec.apply:
            return
        if token is None:
            raise DockyardError(f"jenkins: job {name}: vault key {names.webhook_token_key(project.name)} missing")
        body = cfg.job_xml(self.platform, project, service, token, text)
        with self._step(f"writing job {name}"):
            if have is None:
                self.server.create_job(f"{project.name}/{service.name}", body)
            else:
                self.server.reconfig_job(f"{project.name}/{service.name}", body)

    def _same_job(self, project: Project, service: Service) -> bool:
        """--deep: compare what matters in the live configuration (Jenkins rewrites the XML it stores)."""
        with self._step(f"reading job {names.jenkins_job(project, service)}"):
            live = self.server.get_job_config(f"{project.name}/{service.name}")
        want = cfg.job_xml(self.platform, project, service, "", "")
        return job_view(live) == job_view(want)

    # ----------------------------------------------------------------------- not in the spec
    def _leftovers(self, items: dict[str, dict[str, Any]]) -> None:
        wanted = {p.name: {s.name for s in p.services} for p in self.platform.projects}
        for folder, item in sorted(items.items()):
            marker = parse_marker(item.get("description")) or {}
            if item.get("_class") != cfg.FOLDER_CLASS or (folder not in wanted and not marker):
                continue  # not a folder, or one seed never touched
            if folder not in wanted and marker.get("created") == "yes":
                self._delete("folder", folder)  # with everything in it
                continue
            for job in item.get("jobs") or []:
                job_marker = parse_marker(job.get("description")) or {}
                if job["name"] not in wanted.get(folder, set()) and job_marker.get("created") == "yes":
                    self._delete("job", f"{folder}/{job['name']}")
            if folder not in wanted:  # an adopted folder stays; what seed put into it goes
                self._credential_leftovers(folder, self._folder_credentials(folder), set())
                if self.prune and self.rec.apply and "digest" in marker:
                    # its recorded state no longer holds: forget it, so a later run reads it again
                    text = cfg.description(f"Project {folder}.", {"created": marker.get("created", "no")})
                    with self._step(f"recording the state of folder {folder}"):
                        self._open("POST", f"{_job_path(folder)}submitDescription", {"description": text})

    def _delete(self, kind: str, name: str) -> None:
        if not self.prune:
            self.rec.skip("not-in-spec", f"{kind} {name}", "left in place (--prune deletes it)")
            return
        self.rec.record(kind, name, "delete")
        if self.rec.apply:
            with self._step(f"deleting {kind} {name}"):
                self.server.delete_job(name)


def job_view(config_xml: str) -> dict[str, Any]:
    """The settings of a pipeline job seed cares about, from its config.xml."""
    root = ET.fromstring(config_xml)  # noqa: S314 (Jenkins' own answer, or XML seed made)

    def text(path: str) -> str:
        found = root.find(path)
        return (found.text or "") if found is not None else ""

    params = {
        (p.findtext("name") or ""): (p.findtext("defaultValue") or "")
        for p in root.iter("hudson.model.StringParameterDefinition")
    }
    return {
        "params": params,
        "filter": text(".//com.dabsquared.gitlabjenkins.GitLabPushTrigger/targetBranchRegex"),
        "definition": (root.find("./definition").get("class") or "") if root.find("./definition") is not None else "",
        "script": text("./definition/script"),
        "sandbox": text("./definition/sandbox"),
        "disabled": text("./disabled"),
    }


def _find_system_credential(domains: list[dict[str, Any]]) -> dict[str, Any] | None:
    for domain in domains:
        for cred in domain.get("credentials") or []:
            for body in cred.values():
                if isinstance(body, dict) and body.get("id") == names.SYSTEM_CLUSTER_CREDENTIAL:
                    return body
    return None


def _merge_credential(domains: list[dict[str, Any]], want: dict[str, Any]) -> list[dict[str, Any]]:
    """The exported system credentials with seed's one replaced or added in the global domain."""
    merged: list[dict[str, Any]] = []
    placed = False
    for domain in domains:
        creds = [
            c
            for c in domain.get("credentials") or []
            if not any(isinstance(b, dict) and b.get("id") == names.SYSTEM_CLUSTER_CREDENTIAL for b in c.values())
        ]
        if not domain.get("domain") and not placed:
            creds.append(want)
            placed = True
        merged.append({**domain, "credentials": creds})
    if not placed:
        merged.append({"credentials": [want]})
    return merged


def _subset(want: Any, have: Any) -> bool:
    """``have`` holds everything in ``want`` (JCasC's export adds defaults seed does not set)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and _subset(v, have[k]) for k, v in want.items())
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(want) == len(have)
            and all(_subset(w, h) for w, h in zip(want, have, strict=True))
        )
    return bool(want == have)

"""GitLab (python-gitlab): a group per project, its repositories, deploy keys, hooks, protection.

What seed wants in GitLab for each project ``P`` with services ``S1..Sn``:

* group ``P`` (private);
* a source repository ``P/Si`` per service, initialised from the service template when empty;
  ``main`` protected (Maintainers push, Developers merge), the build and release tag patterns
  protected (creators from ``dockyard_ci``), and webhook ``dockyard-jenkins`` to the service's Jenkins job on tag push,
  with the project's secret token and TLS verification on;
* the deploy repository ``P/P-deploy``, initialised from the deploy repo generator when empty;
  ``main`` (the automatically synced environments) protected so that Jenkins' deploy key (the dev
  bump) and Maintainers (``invoke promote`` to stage) push it. Each manually synced environment
  (prod) has its own branch ``env/<env>``, made from ``main``, that nobody pushes to, Jenkins' key
  included: it changes only when a Maintainer merges a merge request, with all discussions
  resolved. A project access token (Developer, scope api) lets ``invoke promote`` open those merge
  requests. (Required approvals and path-level rules are GitLab Premium features; CE has this.)
* the platform's group ``dockyard`` with the apps repository ``argocd-apps`` (merge requests only);
* deploy keys: ``dockyard:P:jenkins`` (write on the deploy repo, read on the source repos) and
  ``dockyard:P:argocd-<env>`` (read on the deploy repo) for each environment of P.

Reads: groups, projects (with custom attributes) and all deploy keys, each in pages. Ownership is
marked with the custom attribute ``dockyard`` (``created`` when seed made the object, ``adopted``
when it took over an existing one); only ``created`` objects are ever deleted, with ``--prune``.
Hooks and protected refs cannot be listed in bulk, so each repository carries the digest of what
seed last applied to them (custom attribute ``dockyard_state``); a matching digest means they are
not read again (``--deep`` reads them anyway). The custom attributes API needs an administrator.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import gitlab
import gitlab.exceptions
import requests

from dockyard.problems import DockyardError
from dockyard.seed import names, sshkeys
from dockyard.seed.access import ToolAccess, raise_for_connection
from dockyard.seed.changes import Recorder
from dockyard.seed.fingerprint import digest
from dockyard.seed.secretstore import SeedSecrets
from dockyard.spec.model import Platform, Project, Service

TOOL = "gitlab"
MARK = "dockyard"  # custom attribute: created | adopted
STATE = "dockyard_state"  # custom attribute: JSON {digest, token, tags}
PAGE_SIZE = 100
NO_ONE, DEVELOPER, MAINTAINER = 0, 30, 40

SourceContent = Callable[[Project, Service], Mapping[str, bytes]]
DeployContent = Callable[[Project], Mapping[str, bytes]]
AppsContent = Callable[[], Mapping[str, bytes]]
PROMOTE_TOKEN_DAYS = 90  # a promote token lives this long; renewed within RENEW_TOKEN_DAYS of its end
RENEW_TOKEN_DAYS = 30
PROMOTE_STATE = "dockyard_promote_token"  # custom attribute: JSON {fp, expires_at}


def connect(access: ToolAccess) -> gitlab.Gitlab:
    return gitlab.Gitlab(
        access.url, private_token=access.credential, ssl_verify=access.verify, per_page=PAGE_SIZE, timeout=30
    )


def glob_for_gitlab(pattern: str) -> str:
    """GitLab protects refs by wildcard where '*' is the only special character."""
    return pattern.replace("?", "*")


@dataclass(frozen=True)
class Repo:
    project: Project
    service: Service | None  # None: the deploy repo (or the apps repo)
    apps: bool = False  # the platform's apps repository dockyard/argocd-apps

    @property
    def path(self) -> str:
        return f"{self.project.name}/{self.name}"

    @property
    def name(self) -> str:
        if self.apps:
            return names.APPS_REPO
        return self.service.name if self.service else self.project.deploy_repo

    @property
    def is_deploy(self) -> bool:
        return self.service is None and not self.apps

    @property
    def description(self) -> str:
        if self.apps:
            return f"{names.MANAGED_NOTE} The Argo CD Applications of every environment (app-of-apps sources)."
        what = f"source of service {self.name}" if self.service else "deploy repository (Helm values per environment)"
        return f"{names.MANAGED_NOTE} Project {self.project.name}: {what}."


def platform_project(platform: Platform) -> Project:
    """The platform's own group, as a project without services: it holds the apps repository."""
    return Project(names.PLATFORM_GROUP, (), tuple(platform.environments))


def apps_repo(platform: Platform) -> Repo:
    return Repo(platform_project(platform), None, apps=True)


def apps_keys(platform: Platform) -> list[KeySpec]:
    """Each environment's Argo CD reads the apps repository; no team's key reaches it."""
    repo = apps_repo(platform)
    return [
        KeySpec(repo.project, names.argocd_consumer(e), ((repo.path, False),), names.apps_repo_deploy_key_key(e))
        for e in platform.environments
    ]


@dataclass(frozen=True)
class KeySpec:
    project: Project
    consumer: str  # jenkins | argocd-<env>
    links: tuple[tuple[str, bool], ...]  # (repo path, can_push)
    vault_key: str  # where the private half is

    @property
    def title(self) -> str:
        return names.deploy_key_title(self.project.name, self.consumer)


def repos_of(project: Project) -> list[Repo]:
    return [*(Repo(project, s) for s in project.services), Repo(project, None)]


def keys_of(project: Project) -> list[KeySpec]:
    deploy = f"{project.name}/{project.deploy_repo}"
    sources = tuple((f"{project.name}/{s.name}", False) for s in project.services)
    keys = [KeySpec(project, names.JENKINS, ((deploy, True), *sources), names.jenkins_deploy_key_key(project.name))]
    keys += [
        KeySpec(project, names.argocd_consumer(e), ((deploy, False),), names.argocd_deploy_key_key(e, project.name))
        for e in project.environments
    ]
    return keys


def generated_secrets(platform: Platform) -> dict[str, Callable[[], str]]:
    """Secrets seed makes for GitLab (for SeedSecrets.ensure)."""
    from dockyard.seed.secretstore import token  # noqa: PLC0415

    wanted: dict[str, Callable[[], str]] = {k.vault_key: sshkeys.generate for k in apps_keys(platform)}
    for project in platform.projects:
        wanted[names.webhook_token_key(project.name)] = token
        for key in keys_of(project):
            wanted[key.vault_key] = sshkeys.generate
    return wanted


def _attrs(obj: Any) -> dict[str, Any]:
    return dict(obj.attributes)


def _custom(attrs: Mapping[str, Any]) -> dict[str, str]:
    return {a["key"]: a["value"] for a in attrs.get("custom_attributes") or []}


class GitlabReconciler:
    def __init__(
        self,
        platform: Platform,
        gl: gitlab.Gitlab,
        secrets: SeedSecrets,
        rec: Recorder,
        *,
        source_content: SourceContent,
        deploy_content: DeployContent,
        apps_content: AppsContent | None = None,
        prune: bool = False,
        rotate: bool = False,
        deep: bool = False,
    ) -> None:
        self.platform = platform
        self.gl = gl
        self.secrets = secrets
        self.rec = rec
        self.source_content = source_content
        self.deploy_content = deploy_content
        self.apps_content = apps_content
        self.prune = prune
        self.rotate = rotate
        self.deep = deep
        self._doing = "connecting"

    @contextlib.contextmanager
    def _step(self, what: str) -> Iterator[None]:
        self._doing = what
        try:
            yield
        except gitlab.exceptions.GitlabError as exc:
            message = exc.error_message if isinstance(exc.error_message, str) else json.dumps(exc.error_message)
            raise DockyardError(f"gitlab: {what}: HTTP {exc.response_code}: {message[:300]}") from None
        except requests.RequestException as exc:
            raise_for_connection(TOOL, exc)

    # ------------------------------------------------------------------------------------ run
    def run(self) -> None:
        with self._step("listing groups"):
            groups = {
                g.full_path: _attrs(g)
                for g in self.gl.groups.list(iterator=True, all_available=True, with_custom_attributes=True)
            }
        with self._step("listing projects"):
            projects = {
                p.path_with_namespace: _attrs(p)
                for p in self.gl.projects.list(iterator=True, with_custom_attributes=True)
                if not p.attributes.get("marked_for_deletion_at")
            }
        with self._step("listing deploy keys"):
            keys = [_attrs(k) for k in self.gl.deploykeys.list(iterator=True)]
        self._platform_repo(groups, projects, keys)
        for project in self.platform.projects:
            self._project(project, groups, projects, keys)
        self._leftovers(groups, projects, keys)

    def _platform_repo(
        self, groups: dict[str, dict[str, Any]], projects: dict[str, dict[str, Any]], keys: list[dict[str, Any]]
    ) -> None:
        """The group ``dockyard`` and its apps repository, read by every Argo CD's root Application."""
        repo = apps_repo(self.platform)
        group_id = self._group(repo.project, groups.get(repo.project.name))
        current = self._repository(repo, group_id, projects.get(repo.path))
        self._content(repo, current)
        key_ids = self._deploy_keys(repo.project, {repo.path: current}, keys, specs=apps_keys(self.platform))
        self._protection(repo, current, key_ids)

    def _project(
        self,
        project: Project,
        groups: dict[str, dict[str, Any]],
        projects: dict[str, dict[str, Any]],
        keys: list[dict[str, Any]],
    ) -> None:
        group_id = self._group(project, groups.get(project.name))
        repos = repos_of(project)
        current: dict[str, dict[str, Any]] = {}
        for repo in repos:
            current[repo.path] = self._repository(repo, group_id, projects.get(repo.path))
        for repo in repos:
            self._content(repo, current[repo.path])
        key_ids = self._deploy_keys(project, current, keys)
        for repo in repos:
            self._protection(repo, current[repo.path], key_ids)
        self._promote_token(Repo(project, None), current[f"{project.name}/{project.deploy_repo}"])

    # ---------------------------------------------------------------------------------- group
    def _group(self, project: Project, have: dict[str, Any] | None) -> int:
        what = "The platform's own repositories" if project.name == names.PLATFORM_GROUP else f"Project {project.name}"
        want = {"description": f"{names.MANAGED_NOTE} {what}.", "visibility": "private"}
        if have is None:
            self.rec.record("group", project.name, "create")
            if not self.rec.apply:
                return 0
            with self._step(f"creating group {project.name}"):
                group = self.gl.groups.create({"name": project.name, "path": project.name, **want})
                group.customattributes.set(MARK, "created")
            return int(group.id)
        self._update_or_adopt("group", project.name, have, want, self.gl.groups)
        return int(have["id"])

    def _update_or_adopt(self, kind: str, name: str, have: dict[str, Any], want: dict[str, Any], manager: Any) -> None:
        """Bring an existing group or repository's settings in line; mark it ``adopted`` when seed
        did not create it (it is then managed, but never deleted)."""
        differs = {k: v for k, v in want.items() if have.get(k) != v}
        marked = MARK in _custom(have)
        if not differs and marked:
            self.rec.record(kind, name, "noop")
            return
        self.rec.record(kind, name, "update", ", ".join(differs) or "adopted")
        if self.rec.apply:
            with self._step(f"updating {kind} {name}"):
                if differs:
                    manager.update(have["id"], differs)
                if not marked:
                    manager.get(have["id"], lazy=True).customattributes.set(MARK, "adopted")

    # ---------------------------------------------------------------------------- repository
    def _settings(self, repo: Repo) -> dict[str, Any]:
        manual = any(not self.platform.environments[e].automated for e in repo.project.environments)
        return {
            "description": repo.description,
            "visibility": "private",
            "merge_requests_enabled": True,
            "only_allow_merge_if_all_discussions_are_resolved": bool(repo.is_deploy and manual),
        }

    def _repository(self, repo: Repo, group_id: int, have: dict[str, Any] | None) -> dict[str, Any]:
        want = self._settings(repo)
        if have is None:
            self.rec.record("repository", repo.path, "create")
            if not self.rec.apply:
                return {"id": 0, "empty_repo": True, "new": True, "custom_attributes": []}
            with self._step(f"creating repository {repo.path}"):
                created = self.gl.projects.create(
                    {
                        "name": repo.name,
                        "path": repo.name,
                        "namespace_id": group_id,
                        "default_branch": names.DEFAULT_BRANCH,
                        "initialize_with_readme": False,
                        **want,
                    }
                )
                created.customattributes.set(MARK, "created")
            return {**_attrs(created), "empty_repo": True, "new": True, "custom_attributes": []}
        self._update_or_adopt("repository", repo.path, have, want, self.gl.projects)
        return have

    def _content(self, repo: Repo, have: dict[str, Any]) -> None:
        if not have.get("empty_repo"):
            self.rec.record("repository-content", repo.path, "noop")
            return
        try:
            if repo.apps:
                if self.apps_content is None:
                    raise DockyardError("no apps repository generator given")
                files = self.apps_content()
            elif repo.service is None:
                files = self.deploy_content(repo.project)
            else:
                files = self.source_content(repo.project, repo.service)
        except DockyardError as exc:
            self.rec.skip("repository-content", repo.path, str(exc))
            return
        self.rec.record("repository-content", repo.path, "create", f"initial commit, {len(files)} files")
        if not self.rec.apply:
            return
        actions = [
            {"action": "create", "file_path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"}
            for path, data in sorted(files.items())
        ]
        what = "service template" if repo.service else "apps repo generator" if repo.apps else "deploy repo generator"
        with self._step(f"initial commit to {repo.path}"):
            self.gl.projects.get(have["id"], lazy=True).commits.create(
                {
                    "branch": names.DEFAULT_BRANCH,
                    "commit_message": f"Initial content from Dockyard ({what})",
                    "actions": actions,
                }
            )

    # --------------------------------------------------------------------------- deploy keys
    def _deploy_keys(
        self,
        project: Project,
        repos: dict[str, dict[str, Any]],
        keys: list[dict[str, Any]],
        specs: list[KeySpec] | None = None,
    ) -> dict[str, int]:
        ids: dict[str, int] = {}
        for spec in keys_of(project) if specs is None else specs:
            private = self.secrets.get(spec.vault_key)
            public = sshkeys.public_key(private) if private else None
            existing = [k for k in keys if k.get("title") == spec.title]
            current = next((k for k in existing if public and sshkeys.same_key(k["key"], public)), None)
            for stale in (k for k in existing if k is not current):
                self._unlink_everywhere(stale, "replaced by a new key" if current or public else "key not in the vault")
            key_id = int(current["id"]) if current else None
            links = _links(current) if current else {}
            for path, can_push in spec.links:
                repo_id = int(repos[path]["id"])
                name = f"{path} {spec.title} ({'write' if can_push else 'read'})"
                if path in links and links[path] == can_push:
                    self.rec.record("deploy-key", name, "noop")
                    continue
                if path in links:
                    self.rec.record("deploy-key", name, "update", "access")
                    if self.rec.apply:
                        with self._step(f"updating deploy key {spec.title} on {path}"):
                            self.gl.projects.get(repo_id, lazy=True).keys.update(key_id, {"can_push": can_push})
                    continue
                self.rec.record("deploy-key", name, "create")
                if not self.rec.apply:
                    continue
                repo_keys = self.gl.projects.get(repo_id, lazy=True).keys
                with self._step(f"adding deploy key {spec.title} to {path}"):
                    if key_id is None:
                        if public is None:
                            raise DockyardError(f"gitlab: deploy key {spec.title}: vault key {spec.vault_key} missing")
                        key_id = int(repo_keys.create({"title": spec.title, "key": public, "can_push": can_push}).id)
                    else:
                        repo_keys.enable(key_id)
                        if can_push:
                            repo_keys.update(key_id, {"can_push": True})
            # Links to this project's repositories it should not have (links to repositories
            # no longer in the spec are settled with those repositories, in _leftovers).
            own = set(repos) if specs is not None else {r.path for r in repos_of(project)}
            wanted_paths = {p for p, _ in spec.links}
            for path in sorted((set(links) & own) - wanted_paths):
                self._unlink(current or {}, path, "not in the spec")
            if key_id is not None:
                ids[spec.consumer] = key_id
        return ids

    def _unlink_everywhere(self, key: dict[str, Any], why: str) -> None:
        for path in sorted(_links(key)):
            self._unlink(key, path, why, replaced=True)

    def _unlink(self, key: dict[str, Any], path: str, why: str, replaced: bool = False) -> None:
        name = f"{path} {key.get('title')}"
        if not replaced and not self.prune:
            self.rec.skip("not-in-spec", f"deploy-key {name}", "left in place (--prune removes it)")
            return
        self.rec.record("deploy-key", name, "delete", why)
        if self.rec.apply:
            project_id = _link_ids(key)[path]
            with self._step(f"removing deploy key {key.get('title')} from {path}"):
                self.gl.projects.get(project_id, lazy=True).keys.delete(key["id"])

    # ----------------------------------------------------------------------- protection, hook
    def _desired_protection(self, repo: Repo, key_ids: dict[str, int]) -> dict[str, Any]:
        ci = self.platform.ci
        if repo.apps:  # whoever changes it creates Applications anywhere: merge requests, merged by Maintainers
            return {
                "branches": {names.DEFAULT_BRANCH: {"push": [("role", NO_ONE)], "merge": [("role", MAINTAINER)]}},
                "tags": {},
                "hook": None,
                "refs": [],
            }
        if repo.service is None:
            envs = [self.platform.environments[e] for e in repo.project.environments]
            manual = [e for e in envs if not e.automated]
            # main carries the automatically synced environments: Jenkins' key (the release bump) and
            # Maintainers (invoke promote to stage) push it. Manual-sync environments are not on main.
            push: list[tuple[str, int]] = [("role", MAINTAINER)]
            if names.JENKINS in key_ids:
                push.append(("deploy_key", key_ids[names.JENKINS]))
            branches = {names.DEFAULT_BRANCH: {"push": sorted(push), "merge": [("role", MAINTAINER)]}}
            # A manual-sync environment's Applications track env/<env>: nobody pushes there, no key
            # either; it changes only when a Maintainer merges a merge request (promote opens them).
            for env in manual:
                branches[env.deploy_branch] = {"push": [("role", NO_ONE)], "merge": [("role", MAINTAINER)]}
            return {"branches": branches, "tags": {}, "hook": None, "refs": [e.deploy_branch for e in manual]}
        creators = {"developers": DEVELOPER, "maintainers": MAINTAINER}
        return {
            "branches": {names.DEFAULT_BRANCH: {"push": [("role", MAINTAINER)], "merge": [("role", DEVELOPER)]}},
            # Both tag patterns are protected: only the spec's creators may push a tag that builds.
            "tags": {
                glob_for_gitlab(ci.build_tag): creators[ci.build_tag_creators],
                glob_for_gitlab(ci.release_tag): creators[ci.release_tag_creators],
            },
            "refs": [],
            "hook": {
                "url": names.jenkins_webhook_url(self.platform, repo.project, repo.service),
                "name": names.HOOK_NAME,
                "description": f"{names.MANAGED_NOTE} Builds tags in Jenkins.",
                "push_events": False,
                "tag_push_events": True,
                "merge_requests_events": False,
                "enable_ssl_verification": True,
            },
        }

    def _protection(self, repo: Repo, have: dict[str, Any], key_ids: dict[str, int]) -> None:
        want = self._desired_protection(repo, key_ids)
        token_fp = self.secrets.fingerprint(names.webhook_token_key(repo.project.name)) if want["hook"] else None
        state = {"digest": digest(want), "token": token_fp, "tags": sorted(want["tags"])}
        try:
            recorded = json.loads(_custom(have).get(STATE, "{}"))
        except ValueError:
            recorded = {}
        if not have.get("new") and recorded == state and not self.deep:
            for branch in want["branches"]:
                self.rec.record("protected-branch", f"{repo.path} {branch}", "noop")
            for tag in want["tags"]:
                self.rec.record("protected-tag", f"{repo.path} {tag}", "noop")
            for branch in want["refs"]:
                self.rec.record("branch", f"{repo.path} {branch}", "noop")
            if want["hook"]:
                self.rec.record("hook", f"{repo.path} {names.HOOK_NAME}", "noop")
            return
        lazy = self.gl.projects.get(have["id"], lazy=True)
        new = bool(have.get("new"))
        previous_tags = recorded.get("tags") or []
        # A repository created in this run has no hooks or protected tags yet; its first commit did
        # protect the default branch, so that one is read (unless nothing was created: dry run).
        self._branches(repo, lazy, want["branches"], exists=self.rec.apply or not new, new=new)
        self._refs(repo, lazy, want["refs"], new=new)
        if want["tags"] or previous_tags:
            self._tags(repo, lazy, want["tags"], previous_tags, exists=not new)
        if want["hook"]:
            self._hook(repo, lazy, want["hook"], token_fp != recorded.get("token"), exists=not new)
        if self.rec.apply:
            with self._step(f"recording state of {repo.path}"):
                lazy.customattributes.set(STATE, json.dumps(state, sort_keys=True))

    def _branches(self, repo: Repo, lazy: Any, want: dict[str, Any], *, exists: bool, new: bool) -> None:
        with self._step(f"listing protected branches of {repo.path}"):
            have = {b.name: _attrs(b) for b in lazy.protectedbranches.list(iterator=True)} if exists else {}
        for branch, spec in want.items():
            name = f"{repo.path} {branch}"
            current = have.get(branch)
            if current is not None and _protection_view(current) == spec:
                self.rec.record("protected-branch", name, "noop")
                continue
            # A new repository's first commit gets GitLab's default protection: replacing it is
            # part of creating the repository's protection, not an update of Dockyard's.
            action = "update" if current is not None and not new else "create"
            self.rec.record("protected-branch", name, action, _protection_text(spec))
            if not self.rec.apply:
                continue
            with self._step(f"protecting {branch} of {repo.path}"):
                if current is None:
                    lazy.protectedbranches.create(_protection_payload(branch, spec))
                else:
                    # Changed in place (PATCH, GitLab 15.6+): the branch is never unprotected.
                    lazy.protectedbranches.update(branch, _protection_patch(current, spec))

    def _refs(self, repo: Repo, lazy: Any, wanted: list[str], *, new: bool) -> None:
        """Branches that must exist (env/<env> of manual-sync environments), made from the default
        branch after their protection is in place."""
        for branch in wanted:
            name = f"{repo.path} {branch}"
            exists = False
            if not new:
                with self._step(f"reading branch {branch} of {repo.path}"):
                    try:
                        lazy.branches.get(branch)
                        exists = True
                    except gitlab.exceptions.GitlabGetError as exc:
                        if exc.response_code != 404:
                            raise
            if exists:
                self.rec.record("branch", name, "noop")
                continue
            self.rec.record("branch", name, "create", f"from {names.DEFAULT_BRANCH}; changed only by merge requests")
            if self.rec.apply:
                with self._step(f"creating branch {branch} of {repo.path}"):
                    lazy.branches.create({"branch": branch, "ref": names.DEFAULT_BRANCH})

    # --------------------------------------------------------------------- promote token
    def _promote_token(self, repo: Repo, have: dict[str, Any]) -> None:
        """A project access token of the deploy repository for ``invoke promote``: role Developer
        (opens merge requests, cannot merge into or push to a protected branch), scope ``api``, valid
        PROMOTE_TOKEN_DAYS; renewed within RENEW_TOKEN_DAYS of its end and on ``--rotate``. Its value
        goes to the vault the moment GitLab answers (GitLab shows it once)."""
        name = f"{repo.path} {names.PROMOTE_TOKEN_NAME}"
        key = names.promote_token_key(repo.project.name)
        fp = self.secrets.fingerprint(key)
        try:
            recorded = json.loads(_custom(have).get(PROMOTE_STATE, "{}"))
        except ValueError:
            recorded = {}
        today = dt.date.today()
        fresh = str(today + dt.timedelta(days=RENEW_TOKEN_DAYS))
        trusted = not self.rotate and not self.deep and fp and recorded.get("fp") == fp
        if trusted and recorded.get("expires_at", "") > fresh:
            self.rec.record("access-token", name, "noop")
            return
        lazy = self.gl.projects.get(have["id"], lazy=True)
        with self._step(f"listing access tokens of {repo.path}"):
            tokens = [] if have.get("new") else [_attrs(t) for t in lazy.access_tokens.list(iterator=True)]
        active = [t for t in tokens if t.get("name") == names.PROMOTE_TOKEN_NAME and t.get("active")]
        current = active[0] if active else None
        expires = str(today + dt.timedelta(days=PROMOTE_TOKEN_DAYS))
        if current and fp and not self.rotate and str(current.get("expires_at") or "") > fresh:
            self.rec.record("access-token", name, "noop")
            if self.rec.apply:
                state = {"fp": fp, "expires_at": str(current["expires_at"])}
                with self._step(f"recording the promote token of {repo.path}"):
                    lazy.customattributes.set(PROMOTE_STATE, json.dumps(state, sort_keys=True))
            return
        why = "rotate" if self.rotate else "not in the vault" if not fp else "expires soon"
        self.rec.record("access-token", name, "update" if current else "create", why if current else "Developer, api")
        if not self.rec.apply:
            return
        with self._step(f"issuing the promote token of {repo.path}"):
            if current:
                answer = lazy.access_tokens.rotate(current["id"], expires_at=expires)
                value = str(answer["token"])
            else:
                created = lazy.access_tokens.create(
                    {
                        "name": names.PROMOTE_TOKEN_NAME,
                        "description": f"{names.MANAGED_NOTE} invoke promote opens merge requests with it.",
                        "scopes": ["api"],
                        "access_level": DEVELOPER,
                        "expires_at": expires,
                    }
                )
                value = str(created.token)
            self.secrets.put(key, value)
            state = {"fp": self.secrets.fingerprints.of(value), "expires_at": expires}
            lazy.customattributes.set(PROMOTE_STATE, json.dumps(state, sort_keys=True))
        for stale in active[1:]:
            self.rec.record("access-token", f"{name} (duplicate {stale['id']})", "delete")
            with self._step(f"revoking a duplicate promote token of {repo.path}"):
                lazy.access_tokens.delete(stale["id"])

    def _tags(self, repo: Repo, lazy: Any, want: dict[str, int], previous: list[str], *, exists: bool) -> None:
        with self._step(f"listing protected tags of {repo.path}"):
            have = {t.name: _attrs(t) for t in lazy.protectedtags.list(iterator=True)} if exists else {}
        for pattern, level in want.items():
            name = f"{repo.path} {pattern}"
            current = have.get(pattern)
            levels = sorted(a.get("access_level") for a in (current or {}).get("create_access_levels") or [])
            if current is not None and levels == [level]:
                self.rec.record("protected-tag", name, "noop")
                continue
            who = "Maintainers" if level == MAINTAINER else "Developers + Maintainers"
            self.rec.record("protected-tag", name, "update" if current else "create", f"{who} create")
            if self.rec.apply:
                with self._step(f"protecting tags {pattern} of {repo.path}"):
                    if current is not None:
                        lazy.protectedtags.delete(pattern)
                    lazy.protectedtags.create({"name": pattern, "create_access_level": level})
        for pattern in sorted(set(previous) - set(want)):
            if pattern not in have:
                continue
            if not self.prune:
                self.rec.skip(
                    "not-in-spec", f"protected-tag {repo.path} {pattern}", "left in place (--prune removes it)"
                )
                continue
            self.rec.record("protected-tag", f"{repo.path} {pattern}", "delete", "no longer the release pattern")
            if self.rec.apply:
                with self._step(f"unprotecting tags {pattern} of {repo.path}"):
                    lazy.protectedtags.delete(pattern)

    def _hook(self, repo: Repo, lazy: Any, want: dict[str, Any], token_changed: bool, *, exists: bool) -> None:
        with self._step(f"listing hooks of {repo.path}"):
            hooks = [_attrs(h) for h in lazy.hooks.list(iterator=True)] if exists else []
        ours = [h for h in hooks if h.get("name") == names.HOOK_NAME or h.get("url") == want["url"]]
        name = f"{repo.path} {names.HOOK_NAME}"
        token = self.secrets.get(names.webhook_token_key(repo.project.name))
        if not ours:
            self.rec.record("hook", name, "create", "tag push -> Jenkins")
            if self.rec.apply:
                with self._step(f"adding hook to {repo.path}"):
                    lazy.hooks.create({**want, "token": token})
            return
        first, *extra = ours
        differs = [k for k, v in want.items() if first.get(k) != v]
        if differs or token_changed:
            self.rec.record("hook", name, "update", ", ".join(differs + (["token"] if token_changed else [])))
            if self.rec.apply:
                with self._step(f"updating hook of {repo.path}"):
                    lazy.hooks.update(first["id"], {**want, **({"token": token} if token_changed else {})})
        else:
            self.rec.record("hook", name, "noop")
        for hook in extra:
            self.rec.record("hook", f"{name} (duplicate {hook['id']})", "delete")
            if self.rec.apply:
                with self._step(f"removing duplicate hook of {repo.path}"):
                    lazy.hooks.delete(hook["id"])

    # ----------------------------------------------------------------------- not in the spec
    def _leftovers(
        self, groups: dict[str, dict[str, Any]], projects: dict[str, dict[str, Any]], keys: list[dict[str, Any]]
    ) -> None:
        apps = apps_repo(self.platform)
        wanted_repos = {r.path for p in self.platform.projects for r in repos_of(p)} | {apps.path}
        wanted_groups = {p.name for p in self.platform.projects} | {apps.project.name}
        wanted_keys = {k.title for p in self.platform.projects for k in keys_of(p)}
        wanted_keys |= {k.title for k in apps_keys(self.platform)}
        doomed: set[str] = set()
        for path, attrs in sorted(projects.items()):
            if path in wanted_repos or _custom(attrs).get(MARK) != "created":
                continue
            doomed.add(path)
            if not self.prune:
                self.rec.skip("not-in-spec", f"repository {path}", "left in place (--prune deletes it)")
                continue
            self.rec.record("repository", path, "delete")
            if self.rec.apply:
                with self._step(f"deleting repository {path}"):
                    self.gl.projects.delete(attrs["id"])
        for path, attrs in sorted(groups.items()):
            if path in wanted_groups or _custom(attrs).get(MARK) != "created":
                continue
            others = [p for p in projects if p.startswith(f"{path}/") and p not in doomed]
            if others:
                self.rec.skip(
                    "not-in-spec", f"group {path}", f"holds repositories Dockyard did not create: {others[0]}"
                )
                continue
            if not self.prune:
                self.rec.skip("not-in-spec", f"group {path}", "left in place (--prune deletes it)")
                continue
            self.rec.record("group", path, "delete")
            if self.rec.apply:
                with self._step(f"deleting group {path}"):
                    self.gl.groups.delete(attrs["id"])
        for key in keys:
            title = str(key.get("title") or "")
            if not title.startswith("dockyard:"):
                continue
            for path in sorted(_links(key)):
                if title in wanted_keys and path in wanted_repos:
                    continue  # settled in _deploy_keys
                if path in doomed and self.prune:
                    continue  # goes with its repository
                self._unlink(key, path, "not in the spec")


def _links(key: Mapping[str, Any]) -> dict[str, bool]:
    links = {p["path_with_namespace"]: False for p in key.get("projects_with_readonly_access") or []}
    links.update({p["path_with_namespace"]: True for p in key.get("projects_with_write_access") or []})
    return links


def _link_ids(key: Mapping[str, Any]) -> dict[str, int]:
    found = [*(key.get("projects_with_readonly_access") or []), *(key.get("projects_with_write_access") or [])]
    return {p["path_with_namespace"]: int(p["id"]) for p in found}


def _protection_view(branch: Mapping[str, Any]) -> dict[str, Any]:
    def levels(entries: list[dict[str, Any]]) -> list[tuple[str, int]]:
        out = []
        for e in entries or []:
            if e.get("deploy_key_id"):
                out.append(("deploy_key", int(e["deploy_key_id"])))
            elif e.get("user_id") or e.get("group_id"):
                out.append(("other", 0))
            else:
                out.append(("role", int(e.get("access_level", 0))))
        return sorted(out)

    return {"push": levels(branch.get("push_access_levels")), "merge": levels(branch.get("merge_access_levels"))}


def _protection_payload(branch: str, spec: dict[str, Any]) -> dict[str, Any]:
    roles = {kind: [v for k, v in spec[kind] if k == "role"] for kind in ("push", "merge")}
    payload: dict[str, Any] = {
        "name": branch,
        "push_access_level": roles["push"][0],
        "merge_access_level": roles["merge"][0],
        "allow_force_push": False,
    }
    deploy_keys = [v for k, v in spec["push"] if k == "deploy_key"]
    if deploy_keys:
        payload["allowed_to_push"] = [{"deploy_key_id": k} for k in deploy_keys]
    return payload


def _protection_patch(current: Mapping[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body that turns ``current``'s access levels into ``spec``'s, as nested attributes:
    entries to add (no ``id``), entries to remove (``id`` and ``_destroy``); one request, so the
    rule changes at once."""

    def entry_view(entry: Mapping[str, Any]) -> tuple[str, int]:
        if entry.get("deploy_key_id"):
            return ("deploy_key", int(entry["deploy_key_id"]))
        if entry.get("user_id") or entry.get("group_id"):
            return ("other", int(entry["id"]))
        return ("role", int(entry.get("access_level", 0)))

    def changes(entries: list[dict[str, Any]], wanted: list[tuple[str, int]]) -> list[dict[str, Any]]:
        have = {entry_view(e): e for e in entries or []}
        out: list[dict[str, Any]] = [
            {"deploy_key_id": v} if k == "deploy_key" else {"access_level": v} for k, v in wanted if (k, v) not in have
        ]
        out += [{"id": e["id"], "_destroy": True} for view, e in have.items() if view not in wanted]
        return out

    return {
        "allowed_to_push": changes(current.get("push_access_levels") or [], spec["push"]),
        "allowed_to_merge": changes(current.get("merge_access_levels") or [], spec["merge"]),
        "allow_force_push": False,
    }


def _protection_text(spec: dict[str, Any]) -> str:
    role = {NO_ONE: "no one", DEVELOPER: "Developers", MAINTAINER: "Maintainers"}

    def words(entries: list[tuple[str, int]]) -> str:
        ordered = sorted(entries, key=lambda e: e[0] != "role")  # roles first
        return " + ".join(role.get(v, str(v)) if k == "role" else "Jenkins deploy key" for k, v in ordered)

    return f"push: {words(spec['push'])}; merge: {words(spec['merge'])}"

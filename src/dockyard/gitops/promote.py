"""``invoke promote``: copy a service's image tag from one environment's values file to another's, as a git
commit in the deploy repository, pushed to its remote.

To an automatically synced environment the commit goes to the default branch. A manual-sync
environment (prod) tracks its own protected branch ``env/<env>`` that nobody pushes to: the commit
goes to a branch ``promote/<env>/<service>-<tag>`` made from it, and a merge request into
``env/<env>`` is opened when the remote is the platform's GitLab, with the deploy repository's own
least-privilege project access token (Developer: it opens merge requests, it cannot merge them).
A Maintainer merges; Argo CD then waits for a sync by role:prod-sync.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from dockyard.gitops import deploy_repo, git
from dockyard.gitops.gitlab_mr import MergeRequest, OpenMergeRequest
from dockyard.problems import DockyardError, InvalidInput
from dockyard.spec.model import Platform, Project


@dataclass
class Promotion:
    project: str
    service: str
    from_env: str
    to_env: str
    tag: str
    changed: bool
    target: str  # the branch the commit went to
    commit: str | None = None
    merge_request: str | None = None
    note: str = ""

    def summary(self) -> str:
        what = f"{self.project}/{self.service} {self.from_env} -> {self.to_env}: image tag {self.tag}"
        if not self.changed:
            return f"promote: {what}: already there, nothing to do"
        text = f"promote: {what}: commit {self.commit[:12] if self.commit else '?'} pushed to {self.target}"
        if self.merge_request:
            text += f"; merge request {self.merge_request}"
        if self.note:
            text += f"; {self.note}"
        return text


def promote(
    platform: Platform,
    project_name: str,
    service_name: str,
    from_env: str,
    to_env: str,
    *,
    repo_url: str | None = None,
    open_merge_request: OpenMergeRequest,
    gitlab_remote: bool | None = None,
) -> Promotion:
    """Promote; ``gitlab_remote`` (default: the remote's host is the platform's GitLab) decides the MR path."""
    project = _project(platform, project_name)
    _service(project, service_name)
    for flag, env in (("--from", from_env), ("--to", to_env)):
        _check_env(platform, project, flag, env)
    if from_env == to_env:
        raise InvalidInput(f"--to: {to_env}: is the same environment as --from (name the environment to promote to)")
    url = repo_url or platform.deploy_repo_url(project)
    if gitlab_remote is None:
        gitlab_remote = git.host_of(url) == platform.tool_hostname("gitlab")
    job = _Job(platform, project, service_name, from_env, to_env, url, open_merge_request, gitlab_remote)
    with tempfile.TemporaryDirectory(prefix="dockyard-promote-") as tmp:
        return _promote_in(job, git.clone(url, Path(tmp) / project.deploy_repo))


@dataclass(frozen=True)
class _Job:
    platform: Platform
    project: Project
    service: str
    from_env: str
    to_env: str
    url: str
    open_merge_request: OpenMergeRequest
    gitlab_remote: bool


def _promote_in(job: _Job, repo: git.Repo) -> Promotion:
    platform, project, service, from_env, to_env, url = (
        job.platform,
        job.project,
        job.service,
        job.from_env,
        job.to_env,
        job.url,
    )
    src_path, dst_path = deploy_repo.values_path(from_env, service), deploy_repo.values_path(to_env, service)
    default_branch = repo.out("symbolic-ref", "--short", "HEAD")
    source_branch = platform.environments[from_env].deploy_branch
    if source_branch != default_branch:  # promoting out of a manual-sync environment: read its branch
        _checkout_env_branch(repo, source_branch, url)
    tag = deploy_repo.image_tag(_read(repo, src_path, url), src_path)
    if not tag:
        raise InvalidInput(
            f"{url}: {src_path}: image.tag: empty, nothing to promote (a release build sets it in dev; "
            f"promote from an environment that has one)"
        )
    manual = not platform.environments[to_env].automated
    target_branch = platform.environments[to_env].deploy_branch if manual else default_branch
    if manual:
        _checkout_env_branch(repo, target_branch, url)
    elif source_branch != default_branch:
        repo.run("checkout", "--quiet", default_branch)
    branch = (
        f"promote/{to_env}/{git.branch_name_part(service)}-{git.branch_name_part(tag)}" if manual else default_branch
    )
    result = Promotion(project.name, service, from_env, to_env, tag, changed=False, target=branch)
    current = _read(repo, dst_path, url)
    if deploy_repo.image_tag(current, dst_path) == tag:
        return result
    if manual and _remote_branch_has(repo, branch, dst_path, tag):
        result.changed, result.commit = True, repo.out("rev-parse", f"origin/{branch}")
    else:
        old = deploy_repo.image_tag(current, dst_path) or "(none)"
        (repo.path / dst_path).write_bytes(deploy_repo.with_image_tag(current, dst_path, tag))
        repo.run("add", dst_path)
        title = f"promote {project.name}/{service} to {to_env}: image tag {tag} (from {from_env})"
        body = f"{dst_path}: image.tag {old} -> {tag}\n\nPromoted with `invoke promote` (Dockyard)."
        _commit(repo, platform, title, body)
        result.changed, result.commit = True, repo.out("rev-parse", "HEAD")
        _push(repo, branch, default_branch, force=manual)
    if manual:
        if job.gitlab_remote:
            result.merge_request = job.open_merge_request(
                MergeRequest(
                    gitlab_url=platform.tool_url("gitlab"),
                    project_path=platform.deploy_repo_path(project),
                    source_branch=branch,
                    target_branch=target_branch,
                    title=f"Promote {project.name}/{service} to {to_env}: {tag}",
                    description=(
                        f"Sets `image.tag` of `{dst_path}` to `{tag}`, as in `{src_path}`.\n\n"
                        f"{to_env} syncs manually: after merging, sync the application in its Argo CD."
                    ),
                )
            )
        else:
            result.note = (
                f"{to_env} syncs manually and the remote is not the platform's GitLab: "
                f"open a merge request of {branch} into {target_branch} there"
            )
    return result


def _checkout_env_branch(repo: git.Repo, branch: str, url: str) -> None:
    """Work on top of a manual-sync environment's branch (``env/<env>``), which seed creates."""
    fetched = repo.run("fetch", "--quiet", "origin", f"refs/heads/{branch}:refs/remotes/origin/{branch}", check=False)
    if fetched.returncode != 0:
        raise InvalidInput(
            f"{url}: branch {branch}: not in the deploy repository (invoke seed creates it from the default branch)"
        )
    repo.run("checkout", "--quiet", "-B", f"dockyard-promote-{branch.replace('/', '-')}", f"origin/{branch}")


def _project(platform: Platform, name: str) -> Project:
    for project in platform.projects:
        if project.name == name:
            return project
    known = ", ".join(p.name for p in platform.projects) or "none"
    raise InvalidInput(f"--project: {name}: unknown project (projects in the spec: {known})")


def _service(project: Project, name: str) -> None:
    if name not in {s.name for s in project.services}:
        known = ", ".join(s.name for s in project.services)
        raise InvalidInput(f"--service: {name}: not a service of project {project.name} (its services: {known})")


def _check_env(platform: Platform, project: Project, flag: str, env: str) -> None:
    if env not in platform.environments:
        known = ", ".join(platform.environments)
        raise InvalidInput(f"{flag}: {env}: unknown environment (environments in the spec: {known})")
    if env not in project.environments:
        raise InvalidInput(
            f"{flag}: {env}: project {project.name} is not deployed there "
            f"(its environments: {', '.join(project.environments)})"
        )


def _read(repo: git.Repo, path: str, url: str) -> bytes:
    file = repo.path / path
    if not file.is_file():
        raise InvalidInput(f"{url}: {path}: not in the deploy repository (regenerate it from the spec first)")
    return file.read_bytes()


def _remote_branch_has(repo: git.Repo, branch: str, path: str, tag: str) -> bool:
    """True when an earlier run already pushed this promotion branch with the tag in place."""
    if repo.run(
        "fetch", "--quiet", "origin", f"refs/heads/{branch}:refs/remotes/origin/{branch}", check=False
    ).returncode:
        return False
    shown = repo.run("show", f"origin/{branch}:{path}", check=False)
    return shown.returncode == 0 and deploy_repo.image_tag(shown.stdout.encode(), path) == tag


def _commit(repo: git.Repo, platform: Platform, title: str, body: str) -> None:
    identity: list[str] = []
    if not repo.run("config", "user.email", check=False).stdout.strip():
        identity = ["-c", "user.name=Dockyard", "-c", f"user.email=dockyard@{platform.domain}"]
    repo.run(*identity, "commit", "--quiet", "-m", title, "-m", body)


def _push(repo: git.Repo, branch: str, default_branch: str, *, force: bool) -> None:
    if force:
        repo.run("push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{branch}")
        return
    if repo.run("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", check=False).returncode == 0:
        return
    # Someone (Jenkins) pushed in between: replay our one commit on top of theirs, once.
    repo.run("pull", "--quiet", "--rebase", "origin", default_branch)
    pushed = repo.run("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", check=False)
    if pushed.returncode != 0:
        raise DockyardError(f"git push to {branch}: rejected twice ({pushed.stderr.strip().splitlines()[-1:]})")

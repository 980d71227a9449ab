"""Open a merge request on the platform's GitLab (python-gitlab). The one place promote talks to GitLab."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockyard.problems import DockyardError


@dataclass(frozen=True)
class MergeRequest:
    gitlab_url: str
    project_path: str  # e.g. shop/shop-deploy
    source_branch: str
    target_branch: str
    title: str
    description: str


OpenMergeRequest = Callable[[MergeRequest], str]


def open_merge_request(request: MergeRequest, *, token: str, ca_file: Path | None = None) -> str:
    """Open the merge request, or find the open one for the same branches; returns its web URL."""
    import gitlab  # noqa: PLC0415 (only needed on this path)
    import requests  # noqa: PLC0415

    client = gitlab.Gitlab(request.gitlab_url, private_token=token, ssl_verify=str(ca_file) if ca_file else True)
    try:
        project = client.projects.get(request.project_path)
        for existing in project.mergerequests.list(
            source_branch=request.source_branch, target_branch=request.target_branch, state="opened", get_all=True
        ):
            return str(existing.web_url)
        created = project.mergerequests.create(
            {
                "source_branch": request.source_branch,
                "target_branch": request.target_branch,
                "title": request.title,
                "description": request.description,
                "remove_source_branch": True,
            }
        )
        return str(created.web_url)
    except gitlab.exceptions.GitlabError as exc:
        raise DockyardError(
            f"{request.gitlab_url}: merge request for {request.project_path} {request.source_branch}: "
            f"{exc.response_code or ''} {exc.error_message}".strip()
        ) from None
    except requests.exceptions.SSLError:
        raise DockyardError(
            f"{request.gitlab_url}: TLS verification failed "
            f"(give the GitLab tool's ca_file, or check that the internal CA issued its certificate)"
        ) from None
    except requests.exceptions.RequestException as exc:
        raise DockyardError(f"{request.gitlab_url}: cannot reach GitLab: {type(exc).__name__}") from None


def promote_opener(token: str | None, vault_key: str, ca_file: Path | None) -> OpenMergeRequest:
    """An opener with the deploy repository's promote token (a project access token seed keeps in
    the vault under ``vault_key``): never the GitLab administrator's token."""

    def opener(request: MergeRequest) -> str:
        if not token:
            raise DockyardError(
                f"no promote token for {request.project_path} in the vault (key {vault_key}; invoke seed creates it)"
            )
        return open_merge_request(request, token=token, ca_file=ca_file)

    return opener

"""Open a merge request on the platform's GitLab (python-gitlab). The one place promote talks to GitLab."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockyard.problems import DockyardError

ROOT_TOKEN_KEY = "gitlab.root_token"  # noqa: S105 (a vault key's name)


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


def gitlab_opener(token_env: str | None, vault_token: str | None, ca_file: Path | None) -> OpenMergeRequest:
    """An opener that reads the token when it is first needed: ``$<token_env>``, else the vault's root token."""

    def opener(request: MergeRequest) -> str:
        token = (os.environ.get(token_env) if token_env else None) or vault_token
        if not token:
            where = f"${token_env} or " if token_env else ""
            raise DockyardError(
                f"no GitLab token to open the merge request with (set {where}the vault key {ROOT_TOKEN_KEY})"
            )
        return open_merge_request(request, token=token, ca_file=ca_file)

    return opener

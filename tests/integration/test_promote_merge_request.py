"""promote's merge request path (dockyard.gitops.gitlab_mr, python-gitlab) against the GitLab API
TEST DOUBLE over HTTPS with certificate verification on. Not a real GitLab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gitlab
import pytest

from dockyard.gitops.gitlab_mr import MergeRequest, open_merge_request
from dockyard.problems import DockyardError
from tests.fakes.gitlab import GitlabDouble
from tests.fakes.server import DoubleServer, TestTls


@pytest.fixture
def gitlab_double(tmp_path: Path) -> Iterator[tuple[GitlabDouble, DoubleServer, TestTls]]:
    tls = TestTls(tmp_path / "tls")
    double = GitlabDouble(token="glpat-promote-test")
    server = DoubleServer(double, tls).start()
    client = gitlab.Gitlab(server.url, private_token=double.token, ssl_verify=str(tls.ca_path))
    group = client.groups.create({"name": "shop", "path": "shop"})
    client.projects.create({"name": "shop-deploy", "path": "shop-deploy", "namespace_id": group.id})
    yield double, server, tls
    server.stop()
    assert double.violations == [], "the double saw a request outside GitLab's documented API"


def request(server: DoubleServer) -> MergeRequest:
    return MergeRequest(
        gitlab_url=server.url,
        project_path="shop/shop-deploy",
        source_branch="promote/prod/cart-abc1234",
        target_branch="main",
        title="Promote shop/cart abc1234 from stage to prod",
        description="image.tag abc1234 in envs/prod/cart/values.yaml",
    )


def test_opens_one_merge_request_and_finds_it_again(gitlab_double: tuple[GitlabDouble, DoubleServer, TestTls]) -> None:
    double, server, tls = gitlab_double
    url = open_merge_request(request(server), token=double.token, ca_file=tls.ca_path)
    again = open_merge_request(request(server), token=double.token, ca_file=tls.ca_path)
    assert url == again
    assert url.endswith("/shop/shop-deploy/-/merge_requests/1")
    (project_id,) = double.merge_requests
    (mr,) = double.merge_requests[project_id]
    assert (mr["source_branch"], mr["target_branch"], mr["state"]) == ("promote/prod/cart-abc1234", "main", "opened")
    assert mr["force_remove_source_branch"] is True
    writes = [w for w in server.writes() if "merge_requests" in w[1]]
    assert len(writes) == 1  # the rerun found the open one instead of creating a second


def test_tls_is_verified(gitlab_double: tuple[GitlabDouble, DoubleServer, TestTls], tmp_path: Path) -> None:
    double, server, _tls = gitlab_double
    other = TestTls(tmp_path / "other-ca")
    with pytest.raises(DockyardError, match="TLS verification failed"):
        open_merge_request(request(server), token=double.token, ca_file=other.ca_path)
    assert double.merge_requests == {}


def test_a_refused_token_is_one_clear_error(gitlab_double: tuple[GitlabDouble, DoubleServer, TestTls]) -> None:
    _double, server, tls = gitlab_double
    with pytest.raises(DockyardError) as caught:
        open_merge_request(request(server), token="glpat-wrong", ca_file=tls.ca_path)
    assert "merge request for shop/shop-deploy promote/prod/cart-abc1234: 401" in str(caught.value)
    assert "glpat-wrong" not in str(caught.value)

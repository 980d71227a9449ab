"""The Harbor TEST DOUBLE's validator: requests and responses checked against the vendored swagger."""

from __future__ import annotations

from tests.fakes.harbor import validator


def test_known_operations_and_bodies_pass() -> None:
    v = validator()
    op, problems = v.check_request(
        "POST", "/robots", {}, {"name": "push", "level": "project", "duration": -1, "permissions": []}
    )
    assert op is not None and op.name == "CreateRobot" and problems == []
    assert v.check_response(op, 201, {"id": 1, "name": "robot$p+push", "secret": "S3cretsecret"}) == []


def test_unknown_paths_parameters_and_wrong_types_are_reported() -> None:
    v = validator()
    assert v.check_request("POST", "/robotz", {}, None)[1] == ["POST /robotz: no such operation in the swagger"]
    _, problems = v.check_request("GET", "/projects", {"page_size": ["500"], "colour": ["red"]}, None)
    assert problems == [
        "listProjects: query page_size: 500 is above the maximum 100",
        "listProjects: query parameter 'colour' is not declared",
    ]
    _, problems = v.check_request("POST", "/projects", {}, {"project_name": 7})
    assert problems and "project_name" in problems[0] and "is not of type 'string'" in problems[0]
    _, problems = v.check_request("GET", "/robots", {}, {"unexpected": True})
    assert problems == ["ListRobot: takes no request body"]


def test_responses_must_be_declared_and_match() -> None:
    v = validator()
    op, _ = v.check_request("GET", "/retentions/1", {}, None)
    assert op is not None
    assert v.check_response(op, 404, {"errors": []}) == ["getRetention: status 404 is not a declared response"]
    problems = v.check_response(op, 200, {"rules": [{"priority": "high"}]})
    assert problems and "rules/0/priority" in problems[0]


def test_the_one_documented_deviation_admits_numeric_retention_params() -> None:
    v = validator()
    policy = {"algorithm": "or", "rules": [{"template": "latestPushedK", "params": {"latestPushedK": 10}}]}
    assert v.check_request("POST", "/retentions", {}, policy)[1] == []

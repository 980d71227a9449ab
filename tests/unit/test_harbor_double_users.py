"""The Harbor API double's user calls the harbor role rotates the admin password with
(GET /users/current, PUT /users/{user_id}/password), checked against the vendored swagger."""

from __future__ import annotations

import base64
import json

from tests.fakes.harbor import BASE, HarborDouble
from tests.fakes.http_types import Request


def call(double: HarborDouble, method: str, path: str, password: str, body: object = None) -> tuple[int, object]:
    auth = base64.b64encode(f"admin:{password}".encode()).decode()
    request = Request(
        method,
        BASE + path,
        BASE + path,
        {},
        {"authorization": f"Basic {auth}", "content-type": "application/json"},
        json.dumps(body).encode() if body is not None else b"",
    )
    response = double.handle(request)
    return response.status, response.body


def test_password_rotation_follows_harbors_rules() -> None:
    double = HarborDouble(password="First-Pw-123")
    status, user = call(double, "GET", "/users/current", "First-Pw-123")
    assert status == 200 and user["user_id"] == 1 and user["sysadmin_flag"] is True  # type: ignore[index]
    assert call(double, "GET", "/users/current", "wrong")[0] == 401
    change = {"old_password": "not-it", "new_password": "Second-Pw-456"}
    assert call(double, "PUT", "/users/1/password", "First-Pw-123", change)[0] == 403
    weak = {"old_password": "First-Pw-123", "new_password": "short"}
    assert call(double, "PUT", "/users/1/password", "First-Pw-123", weak)[0] == 400
    good = {"old_password": "First-Pw-123", "new_password": "Second-Pw-456"}
    assert call(double, "PUT", "/users/1/password", "First-Pw-123", good)[0] == 200
    assert call(double, "GET", "/users/current", "First-Pw-123")[0] == 401
    assert call(double, "GET", "/users/current", "Second-Pw-456")[0] == 200
    assert double.violations == []

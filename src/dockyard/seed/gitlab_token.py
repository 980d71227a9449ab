"""``invoke seed --rotate`` for GitLab's automation token: the personal access token roles/tools/gitlab
created for root (vault key ``gitlab.root_token``) is rotated through the API
(``POST /personal_access_tokens/self/rotate``: the old token is revoked, a new one returned) and the
new value stored in the vault before seed goes on with it. Only a token Dockyard keeps in its vault
is rotated; one given through ``token_env`` belongs to the operator."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import gitlab
import gitlab.exceptions

from dockyard.problems import DockyardError
from dockyard.secrets import Vault
from dockyard.seed import names
from dockyard.seed.access import ToolAccess
from dockyard.seed.changes import Recorder

LIFETIME_DAYS = 365  # as roles/tools/gitlab's gitlab_token_lifetime_days


def rotate(access: ToolAccess, vault: Vault, rec: Recorder, *, apply: bool) -> ToolAccess:
    key = names.GITLAB_ROOT_TOKEN_KEY
    if vault.get(key) != access.credential:
        rec.record("token", key, "noop", "not Dockyard's token (token_env): rotate it yourself")
        return access
    if not apply:
        rec.record("token", key, "update", "would rotate")
        return access
    expires = (dt.date.today() + dt.timedelta(days=LIFETIME_DAYS)).isoformat()
    client = gitlab.Gitlab(access.url, private_token=access.credential, ssl_verify=access.verify, timeout=30)
    try:
        answer = client.personal_access_tokens.rotate("self", expires_at=expires)
    except gitlab.exceptions.GitlabError as exc:
        raise DockyardError(f"gitlab: rotating the automation token failed: {exc.response_code} {exc}") from None
    token = str(answer.get("token") or "")
    if not token:
        raise DockyardError("gitlab: rotating the automation token: the answer holds no token")
    vault.set(key, token)
    rec.record("token", key, "update", f"rotated, expires {expires}")
    return replace(access, credential=token)

"""Filter plugin: ``{{ password | dockyard_htpasswd(user) }}`` -> a stable bcrypt htpasswd line.

The logic lives in dockyard.mirror.htpasswd.
"""

from __future__ import annotations

from typing import Any

from dockyard.mirror import htpasswd


def dockyard_htpasswd(password: str, user: str) -> str:
    if str(password).startswith("<vault:"):  # invoke render --configs: show which secret, hash nothing
        return f"{user}:{password}"
    return htpasswd.line(str(user), str(password))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"dockyard_htpasswd": dockyard_htpasswd}

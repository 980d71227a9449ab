"""The few git operations promote needs, run with the real git command line (never a shell)."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dockyard.problems import DockyardError


class GitError(DockyardError):
    pass


@dataclass(frozen=True)
class Repo:
    path: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run("-C", str(self.path), *args, check=check)

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    proc = subprocess.run(["git", *args], capture_output=True, text=True, check=False, env=env, timeout=300)
    if check and proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        raise GitError(f"git {args[2] if args[:1] == ('-C',) else args[0]}: {detail[-1] if detail else 'failed'}")
    return proc


def clone(url: str, into: Path) -> Repo:
    run("clone", "--quiet", "--no-tags", "--", url, str(into))  # "--": a URL is never read as an option
    return Repo(into)


def host_of(url: str) -> str | None:
    """The server's host name in a git URL (scp-like or URL form); None for a local path."""
    match = re.match(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?\[?([^\]/:]+)", url)
    if match:
        return match.group(1) if not url.startswith("file://") else None
    match = re.match(r"^(?:[^@/:]+@)?([^/:]+):(?!//)", url)
    if match and not Path(url).exists():
        return match.group(1)
    return None


def branch_name_part(text: str) -> str:
    """Make ``text`` safe inside a branch name (git check-ref-format rules)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text)
    cleaned = re.sub(r"\.\.+", ".", cleaned).strip(".-")
    return cleaned.removesuffix(".lock") or "x"

"""Every kubeadm command line the cluster roles run is one the kubeadm CLI reference documents
(subcommand, flags, positional arguments), checked with the stand-ins' own parser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.standins import standin_lib
from tests.standins.kubernetes.cli_reference import kubeadm_spec

ROOT = Path(__file__).resolve().parents[2]
ROLES = [ROOT / "roles" / "kubernetes", ROOT / "roles" / "network_plugin"]


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("block", "rescue", "always"):
            yield from _tasks(node.get(key))


def command_lines() -> list[tuple[str, list[str]]]:
    found = []
    for base in ROLES:
        for path in sorted(base.glob("*/*/*.yml")):
            if path.parent.name not in ("tasks", "handlers"):
                continue
            for task in _tasks(yaml.safe_load(path.read_text())):
                argv = (task.get("ansible.builtin.command") or {}).get("argv") if isinstance(task, dict) else None
                if not argv:
                    continue
                argv = [str(a) for a in argv]
                if argv[0] == "timeout":
                    argv = argv[2:]
                found.append((f"{path.relative_to(ROOT)}: {task['name']}", argv))
    return found


KUBEADM = [(where, argv) for where, argv in command_lines() if argv[0] == "kubeadm"]


def test_the_roles_run_kubeadm() -> None:
    subcommands = {" ".join(a[1:3]) for _, a in KUBEADM}
    assert {"init --config", "join --config", "token create", "init phase", "reset --force"} <= subcommands


@pytest.mark.parametrize(("where", "argv"), KUBEADM, ids=[w for w, _ in KUBEADM])
def test_kubeadm_command_is_documented(where: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        standin_lib.parse("kubeadm", argv[1:], kubeadm_spec(), log=False)
    except SystemExit:
        pytest.fail(f"{where}: {' '.join(argv)}: {capsys.readouterr().err.strip()}")
    assert "--discovery-token-unsafe-skip-ca-verification" not in argv


def test_the_parser_refuses_what_is_not_documented(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["init", "--bogus"], ["join", "--discovery-token-unsafe-skip", "x"], ["alpha", "certs"]):
        with pytest.raises(SystemExit):
            standin_lib.parse("kubeadm", argv, kubeadm_spec(), log=False)
        assert "stand-in: unsupported" in capsys.readouterr().err

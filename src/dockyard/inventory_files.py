"""Read every file an inventory source brings in, strictly, before Ansible does.

Ansible reports a broken ``group_vars`` file against the inventory source (``dev/hosts.yml``),
accepts duplicate mapping keys with a warning (the last one silently wins) and takes a plaintext
``dockyard_secrets`` as readily as a vault. This module reads the same files Ansible's
``host_group_vars`` plugin would (the source itself, ``group_vars/`` and ``host_vars/`` next to
it) and names the file that fails, with its line:

* not valid YAML, or indented with tabs;
* a key defined twice in one mapping (both lines named);
* a vault-encrypted file with no vault password, the wrong one, or a corrupted/truncated body;
* ``dockyard_secrets`` (the vault) in a file that is not vault-encrypted.

Messages never quote a file's content, so nothing of a vault leaks into them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from dockyard.problems import Problem

VAULT_HEADER = b"$ANSIBLE_VAULT;"
VAULT_VAR = "dockyard_secrets"
PASSWORD_ENV = "ANSIBLE_VAULT_PASSWORD_FILE"  # noqa: S105 (the name of a variable, not a password)
# The extensions Ansible's host_group_vars plugin reads (FOUND_VARS_FILE_EXTENSIONS), '' included.
VARS_EXTENSIONS = ("", ".yml", ".yaml", ".json")


def files_of(sources: Sequence[Path]) -> list[Path]:
    """Every file Ansible reads for these inventory sources, in a stable order."""
    found: list[Path] = []
    for source in sources:
        found.append(source)
        base = source.parent if source.is_file() else source
        for sub in ("group_vars", "host_vars"):
            found.extend(_vars_files(base / sub))
    seen: set[Path] = set()
    return [f for f in found if not (f in seen or seen.add(f))]


def _vars_files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts) or path.name.endswith("~"):
            continue
        if path.is_file() and path.suffix in VARS_EXTENSIONS:
            yield path


def encrypted(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(VAULT_HEADER)) == VAULT_HEADER
    except OSError:
        return False


def password_configured() -> str | None:
    """The vault password file Ansible would use (the environment first, then ansible.cfg)."""
    from ansible import constants as C  # noqa: PLC0415

    configured = os.environ.get(PASSWORD_ENV) or C.DEFAULT_VAULT_PASSWORD_FILE
    return str(configured) if configured and os.path.exists(configured) else None


def check(sources: Sequence[Path], shown: Any = str) -> list[Problem]:
    """Every problem in the files the sources bring in; empty when Ansible may load them."""
    secret = _vault_secret()
    problems: list[Problem] = []
    for path in files_of(sources):
        problems.extend(check_file(path, secret, shown(path)))
    return problems


def _vault_secret() -> Any:
    configured = password_configured()
    if configured is None:
        return None
    from ansible.parsing.dataloader import DataLoader  # noqa: PLC0415
    from ansible.parsing.vault import get_file_vault_secret  # noqa: PLC0415

    secret = get_file_vault_secret(filename=configured, vault_id="default", loader=DataLoader())
    secret.load()
    return secret


def check_file(path: Path, secret: Any, shown: str) -> list[Problem]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [Problem(shown, "(file)", f"cannot read: {exc.strerror}", "check the file's permissions")]
    is_vault = raw.startswith(VAULT_HEADER)
    if is_vault:
        text, problem = _decrypt(raw, secret, shown)
        if problem:
            return [problem]
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return [Problem(shown, "(file)", f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8")]
    problems = list(_yaml_problems(text, shown, quote=not is_vault))
    if problems or is_vault:
        return problems
    data = _load(text)
    if isinstance(data, dict) and VAULT_VAR in data and not _all_inline_vault(data[VAULT_VAR]):
        line = _key_line(text, VAULT_VAR)
        problems.append(
            Problem(
                f"{shown}:{line}" if line else shown,
                VAULT_VAR,
                "secrets in a file that is not vault-encrypted",
                f"encrypt it: ansible-vault encrypt {path}",
            )
        )
    return problems


def _decrypt(raw: bytes, secret: Any, shown: str) -> tuple[str, Problem | None]:
    if secret is None:
        return "", Problem(
            shown,
            "(file)",
            "vault-encrypted, but no vault password is configured",
            f"set {PASSWORD_ENV} to the password file it was encrypted with, or vault_password_file in ansible.cfg",
        )
    from ansible.parsing.vault import AnsibleVaultError, AnsibleVaultFormatError, VaultLib  # noqa: PLC0415

    try:
        plain = VaultLib([("default", secret)]).decrypt(raw)
    except AnsibleVaultFormatError:
        return "", Problem(
            shown,
            "(file)",
            "vault file is corrupted or truncated",
            "restore it from a backup or from version control",
        )
    except AnsibleVaultError:
        return "", Problem(
            shown,
            "(file)",
            "cannot decrypt with the vault password in use (wrong password, or the file was altered)",
            f"set {PASSWORD_ENV} to the password file it was encrypted with",
        )
    try:
        return plain.decode("utf-8"), None
    except UnicodeDecodeError:
        return "", Problem(shown, "(file)", "decrypted vault is not UTF-8 text", "restore it from a backup")


def _all_inline_vault(value: Any) -> bool:
    """True when every secret is an inline ``!vault`` value (encrypted one by one)."""
    if isinstance(value, dict):
        return bool(value) and all(isinstance(v, _Tagged) and v.tag == "!vault" for v in value.values())
    return isinstance(value, _Tagged) and value.tag == "!vault"


def _key_line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith((f"{key}:", f'"{key}":', f"'{key}':")):
            return number
    return None


# ------------------------------------------------------------------------------------ strict YAML


class _Tagged:
    """A value carrying an Ansible tag (!vault, !unsafe): kept as is, never decrypted here."""

    def __init__(self, tag: str, value: Any) -> None:
        self.tag = tag
        self.value = value


class DuplicateKey(yaml.MarkedYAMLError):
    def __init__(self, key: str, first: int, second: int) -> None:
        super().__init__()
        self.key, self.first, self.second = key, first, second


class StrictLoader(yaml.SafeLoader):
    """YAML as Ansible reads it (its tags accepted), but a key defined twice is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # the base class reports unhashable keys
            line = key_node.start_mark.line + 1
            if key in seen:
                raise DuplicateKey(str(key), seen[key], line)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> _Tagged:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return _Tagged("!" + suffix, value)


StrictLoader.add_multi_constructor("!", _tagged)


def _load(text: str) -> Any:
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader subclass)


def _yaml_problems(text: str, shown: str, *, quote: bool) -> Iterator[Problem]:
    try:
        _load(text)
    except DuplicateKey as dup:
        yield Problem(
            f"{shown}:{dup.second}",
            dup.key if quote else "(a key)",
            f"defined twice in one mapping (lines {dup.first} and {dup.second}); Ansible would silently keep "
            f"the second",
            "remove one of them",
        )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark is not None else shown
        problem = str(getattr(exc, "problem", None) or "cannot be parsed")
        fix = "fix the syntax"
        if "\\t" in problem or "\t" in problem or _tab_at(text, mark):
            problem, fix = "a tab character where YAML needs spaces", "indent with spaces, not tabs"
        elif not quote:
            problem = problem.split("'")[0].strip()  # never quote a vault's content
        yield Problem(where, "(file)", f"not valid YAML: {problem}", fix)


def _tab_at(text: str, mark: Any) -> bool:
    if mark is None:
        return False
    lines = text.splitlines()
    return 0 <= mark.line < len(lines) and "\t" in lines[mark.line]

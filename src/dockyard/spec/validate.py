"""Validate the platform spec loaded from an inventory, and build the typed model from it.

Every problem found is reported at once, each naming the file (and line), the key, what is
wrong and how to fix it.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from dockyard.inventory import CLUSTER_GROUPS, HOSTS_FILE, PLATFORM, RESERVED_ENV_NAMES, LoadedInventory
from dockyard.problems import InvalidInput, Problem, SpecInvalid
from dockyard.seed.names import admin_token_key
from dockyard.spec import cluster, schema, values
from dockyard.spec.model import (
    DEFAULT_MIRROR_HOSTNAME,
    DEFAULT_MIRROR_REGISTRY_PORT,
    TOOLS,
    CiSettings,
    Environment,
    Platform,
    Project,
    RegistrySettings,
    Service,
    Tool,
)

RESERVED_PROJECT_NAME = "dockyard"
# Namespaces a project's namespace may never be: Kubernetes' own, Argo CD's, and the ones Dockyard creates.
RESERVED_NAMESPACES = frozenset({"default", "argocd", "kube-system", "kube-public", "kube-node-lease"})
HELM_RELEASE_MAX = 53  # Helm release names (and so Argo CD app names) are at most 53 characters
SECRETS_KEY = "dockyard_secrets"


def _whole(pattern: str) -> str:
    """``$`` also matches before a final newline: anchor at the very end of the string instead."""
    return re.sub(r"(?<!\\)\$", r"\\Z", pattern)


def _pattern(validator: Any, pattern: str, instance: Any, _schema: Any) -> Iterator[jsonschema.ValidationError]:
    """JSON schema ``pattern``, matching the whole string (a name ending in a newline is not a name)."""
    if validator.is_type(instance, "string") and not re.search(_whole(pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_VALIDATOR = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern})(schema.SPEC)


def validate(inv: LoadedInventory, root: Path | None = None) -> Platform:
    """Return the platform model, or raise SpecInvalid listing every problem. ``root``: where
    relative paths in the spec (ca_file) are resolved, as seed resolves them (default: cwd)."""
    problems = list(_schema_problems(inv))
    problems += _unknown_keys(inv)
    problems += _cross_reference_problems(inv)
    problems += _value_problems(inv)
    problems += _host_problems(inv)
    problems += _service_host_problems(inv)
    problems += _tree_problems(inv)
    problems += _tool_access_problems(inv, root or Path.cwd())
    if problems:
        raise SpecInvalid(problems)
    return build(inv.spec)


def key_path(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(inv: LoadedInventory, path: list[str | int], message: str, fix: str = "") -> Problem:
    return Problem(inv.origin(path), key_path(path), message, fix)


# ---------------------------------------------------------------------------------------- schema


def _schema_problems(inv: LoadedInventory) -> Iterator[Problem]:
    spec = {k: v for k, v in inv.spec.items() if k.startswith("dockyard_")}
    for err in _VALIDATOR.iter_errors(spec):
        path = list(err.absolute_path)
        message, fix = _describe(err)
        if path[:1] == [SECRETS_KEY]:
            message = _redacted(err)
        if err.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", err.message)
            path = [*path, *missing[:1]]
        if "propertyNames" in err.schema_path:
            yield _problem(inv, [*path, str(err.instance)], "is not a valid name", schema.DNS_LABEL_FIX)
            continue
        if err.validator == "additionalProperties" and err.validator_value is False:
            for extra in _extra_keys(err):
                known = list(err.schema.get("properties", {}))
                yield _problem(inv, [*path, extra], "unknown key", _did_you_mean(extra, known))
            continue
        yield _problem(inv, path, message, fix)


def _redacted(err: jsonschema.ValidationError) -> str:
    """A vault problem without the vault's value."""
    if err.validator == "type":
        return f"is {_type_name(err.instance)}, expected {err.validator_value} (value hidden: a secret)"
    return "is not valid (value hidden: a secret)"


def _extra_keys(err: jsonschema.ValidationError) -> list[str]:
    allowed = set(err.schema.get("properties", {}))
    return sorted(k for k in err.instance if k not in allowed)


def _describe(err: jsonschema.ValidationError) -> tuple[str, str]:
    fix = err.schema.get("x-fix", "") if isinstance(err.schema, dict) else ""
    v = err.validator
    inst = err.instance
    if v == "required":
        name = re.findall(r"'([^']+)' is a required property", err.message)
        return "missing required key", f"add {name[0] if name else 'it'}"
    if v == "type":
        expected = err.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        hint = "give true or false" if expected == "boolean" else f"give {_article(expected)}"
        return f"is {_type_name(inst)} {_short(inst)}, expected {expected}", fix or hint
    if v == "enum":
        options = ", ".join(str(o) for o in err.validator_value)
        return f"{_short(inst)} is not allowed", f"use one of: {options}"
    if v == "pattern":
        return f"{_short(inst)} is not valid", fix or f"match {err.validator_value}"
    if v in ("minimum", "maximum"):
        word = "below the minimum" if v == "minimum" else "above the maximum"
        return f"{_short(inst)} is {word} {err.validator_value}", fix
    if v in ("minItems", "minProperties"):
        return "is empty", fix or "add at least one entry"
    if v == "anyOf":
        return f"{_short(inst)} is not valid", fix
    if v == "oneOf":
        return "needs exactly one of url, ref or package", "give the artefact's download url, image ref, or apt package"
    return err.message, fix


def _article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "empty",
    }.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {close[0]}?"
    return f"known keys: {', '.join(sorted(known))}" if known else "remove it"


def _unknown_keys(inv: LoadedInventory) -> Iterator[Problem]:
    known = schema.known_keys()
    for key in sorted(inv.spec):
        if key.startswith("dockyard_") and key not in known:
            yield _problem(inv, [key], "unknown spec key", _did_you_mean(key, sorted(known)))


# ------------------------------------------------------------------------------ cross references


def _cross_reference_problems(inv: LoadedInventory) -> Iterator[Problem]:
    spec = inv.spec
    envs = spec.get("dockyard_environments")
    env_names = list(envs) if isinstance(envs, dict) else []
    yield from _environment_problems(inv, env_names)
    yield from _project_problems(inv, env_names)
    yield from _tool_problems(inv)
    yield from _hostname_collisions(inv, env_names)
    yield from _ci_problems(inv, env_names)
    yield from _catalogue_problems(inv)
    yield from _time_server_problems(inv)
    yield from _cluster_problems(inv)
    yield from _bundle_key_problems(inv)
    layout = spec.get("dockyard_argocd_layout")
    central = spec.get("dockyard_argocd_central_env")
    if layout == "central" and central not in env_names:
        yield _problem(
            inv,
            ["dockyard_argocd_central_env"],
            "layout 'central' needs the environment whose cluster runs Argo CD"
            + ("" if central is None else f"; {central!r} is not in dockyard_environments"),
            f"set it to one of: {', '.join(env_names) or 'a defined environment'}",
        )
    if spec.get("dockyard_airgap") is True and not inv.groups.get("mirror"):
        yield Problem(
            str(inv.sources[0]),
            "mirror",
            "dockyard_airgap is true but the inventory has no host in group 'mirror'",
            "add a mirror host, or set dockyard_airgap: false",
        )


PUBLIC_NTP_SUFFIXES = ("pool.ntp.org", "time.google.com", "time.cloudflare.com", "time.windows.com", "time.apple.com")


def _time_server_problems(inv: LoadedInventory) -> Iterator[Problem]:
    """An air-gapped host cannot reach a public NTP pool: it must be given the site's own time servers."""
    if inv.spec.get("dockyard_airgap") is not True:
        return
    servers = inv.spec.get("dockyard_time_servers")
    if not servers:
        yield _problem(
            inv,
            ["dockyard_time_servers"],
            "dockyard_airgap is true but no internal time servers are given (hosts would try a public NTP pool)",
            "list the site's NTP servers, e.g. dockyard_time_servers: [ntp1.site.internal]",
        )
        return
    if not isinstance(servers, list):
        return  # the schema names it
    for i, server in enumerate(servers):
        if isinstance(server, str) and server.lower().rstrip(".").endswith(PUBLIC_NTP_SUFFIXES):
            yield _problem(
                inv,
                ["dockyard_time_servers", i],
                f"{server!r} is a public time service, unreachable air-gapped",
                "use the site's own NTP servers",
            )


def _cluster_problems(inv: LoadedInventory) -> Iterator[Problem]:
    addresses = {name: str(host.get("dockyard_address") or host.address) for name, host in inv.hosts.items()}
    for found in cluster.problems(inv.spec, addresses):
        yield _problem(inv, found.path, found.message, found.fix)


def _bundle_key_problems(inv: LoadedInventory) -> Iterator[Problem]:
    """dockyard_bundle_public_key must be a real Ed25519 key, not just look like one."""
    from dockyard.bundle.manifest import parse_public_key  # noqa: PLC0415

    text = inv.spec.get("dockyard_bundle_public_key")
    if not isinstance(text, str) or not text.strip().startswith(("ssh-ed25519 ", "-----BEGIN")):
        return  # the schema names what is wrong
    try:
        parse_public_key(text, "dockyard_bundle_public_key")
    except InvalidInput:
        yield _problem(
            inv,
            ["dockyard_bundle_public_key"],
            "is not an Ed25519 public key",
            "use the 'ssh-ed25519 ...' line that `invoke bundle.keygen` printed",
        )


def _catalogue_problems(inv: LoadedInventory) -> Iterator[Problem]:
    """What the schema cannot see: floating image tags, and what an air-gapped site must have pinned."""
    cat = inv.spec.get("dockyard_catalogue")
    if not isinstance(cat, dict):
        return
    airgap = inv.spec.get("dockyard_airgap") is True
    for comp_name, comp in cat.items():
        arts = comp.get("artefacts") if isinstance(comp, dict) else None
        for art_id, art in (arts or {}).items() if isinstance(arts, dict) else ():
            if not isinstance(art, dict):
                continue
            path: list[str | int] = ["dockyard_catalogue", comp_name, "artefacts", art_id]
            ref, sha, kind = art.get("ref"), art.get("sha256"), art.get("kind")
            if isinstance(ref, str) and ref.rsplit("/", 1)[-1].endswith(":latest"):
                yield _problem(
                    inv, [*path, "ref"], f"{ref!r} floats", "pin a release tag and give its digest in sha256"
                )
            if not airgap or kind == "os-package":
                continue
            if sha == "unknown":
                yield _problem(
                    inv,
                    [*path, "sha256"],
                    "is unknown, and an air-gapped site installs only pinned artefacts",
                    "pin it in the inventory's dockyard_catalogue (invoke bundle.build --pin-unknown FILE writes "
                    "trust-on-first-use pins)",
                )


def _environment_problems(inv: LoadedInventory, env_names: list[str]) -> Iterator[Problem]:
    for name in env_names:
        if name in RESERVED_ENV_NAMES:
            yield _problem(inv, ["dockyard_environments", name], "reserved name", "rename the environment")
    env_hosts = str(inv.tree.env_dir(inv.env) / HOSTS_FILE)
    if env_names and inv.env not in env_names:
        yield Problem(
            str(inv.origin(["dockyard_environments"])),
            "dockyard_environments",
            f"has no entry for environment '{inv.env}' (inventory {env_hosts})",
            f"add '{inv.env}: {{sync: auto}}' or remove the inventory folder",
        )
    declared = inv.spec.get("dockyard_env")
    if declared is not None and declared != inv.env:
        yield _problem(
            inv,
            ["dockyard_env"],
            f"says '{declared}' but the inventory folder is '{inv.env}'",
            f"set dockyard_env: {inv.env} in {inv.tree.env_dir(inv.env)}/group_vars/all/",
        )
    if not inv.groups.get(CLUSTER_GROUPS[0]):
        yield Problem(
            env_hosts,
            CLUSTER_GROUPS[0],
            f"environment '{inv.env}' has no control-plane host",
            "add at least one host to group kube_control_plane",
        )


def _project_problems(inv: LoadedInventory, env_names: list[str]) -> Iterator[Problem]:
    projects = inv.spec.get("dockyard_projects")
    if not isinstance(projects, list):
        return
    envs = inv.spec.get("dockyard_environments") or {}
    seen_projects: dict[str, int] = {}
    for i, project in enumerate(projects):
        if not isinstance(project, dict):
            continue
        pname = project.get("name")
        if pname == RESERVED_PROJECT_NAME:
            yield _problem(
                inv,
                ["dockyard_projects", i, "name"],
                f"'{pname}' is reserved (the GitLab group and Argo CD project of the platform's own repositories)",
                "rename the project",
            )
        if isinstance(pname, str):
            yield from _reserved_namespace(inv, i, pname, project.get("environments", env_names), envs)
            if pname in seen_projects:
                yield _problem(
                    inv,
                    ["dockyard_projects", i, "name"],
                    f"project '{pname}' is listed twice (also at dockyard_projects[{seen_projects[pname]}])",
                    "merge the two entries or rename one",
                )
            seen_projects.setdefault(pname, i)
        project_envs = project.get("environments", env_names)
        for j, env in enumerate(project_envs if isinstance(project_envs, list) else []):
            if env not in env_names:
                yield _problem(
                    inv,
                    ["dockyard_projects", i, "environments", j],
                    f"unknown environment {env!r}",
                    f"use one of: {', '.join(env_names)}, or add it to dockyard_environments",
                )
            elif isinstance(pname, str) and isinstance(envs.get(env), dict):
                namespace = f"{envs[env].get('namespace_prefix', '')}{pname}"
                if len(namespace) > 63:
                    yield _problem(
                        inv,
                        ["dockyard_projects", i, "name"],
                        f"namespace '{namespace}' in environment '{env}' is longer than 63 characters",
                        "shorten the project name or the environment's namespace_prefix",
                    )
        services = project.get("services")
        seen: dict[str, int] = {}
        for j, service in enumerate(services if isinstance(services, list) else []):
            if not isinstance(service, dict) or not isinstance(service.get("name"), str):
                continue
            sname = service["name"]
            if sname in seen:
                yield _problem(
                    inv,
                    ["dockyard_projects", i, "services", j, "name"],
                    f"service '{sname}' is listed twice in project '{pname}' (also at services[{seen[sname]}])",
                    "remove the duplicate or rename it",
                )
            seen.setdefault(sname, j)
            if isinstance(pname, str) and sname == f"{pname}-deploy":
                yield _problem(
                    inv,
                    ["dockyard_projects", i, "services", j, "name"],
                    f"'{sname}' is reserved (the project's deploy repository has that name)",
                    "rename the service",
                )
            if isinstance(pname, str) and len(f"{pname}-{sname}") > HELM_RELEASE_MAX:
                yield _problem(
                    inv,
                    ["dockyard_projects", i, "services", j, "name"],
                    f"'{pname}-{sname}' (the Argo CD application and Helm release name) is longer than "
                    f"{HELM_RELEASE_MAX} characters",
                    "shorten the project or service name",
                )


def _reserved_namespace(
    inv: LoadedInventory, i: int, pname: str, project_envs: Any, envs: dict[str, Any]
) -> Iterator[Problem]:
    """A project's namespace in each environment (and its build namespace) must not be one that
    Kubernetes, Argo CD or Dockyard itself owns."""
    ci = inv.spec.get("dockyard_ci") if isinstance(inv.spec.get("dockyard_ci"), dict) else {}
    build_namespace = str(ci.get("build_namespace", "dockyard-builds"))
    reserved = {*RESERVED_NAMESPACES, build_namespace}

    def is_reserved(namespace: str) -> bool:
        return namespace in reserved or namespace.startswith(("kube-", f"{build_namespace}-"))

    taken = [pname] if is_reserved(pname) else []
    for env in project_envs if isinstance(project_envs, list) else []:
        prefix = envs.get(env, {}).get("namespace_prefix", "") if isinstance(envs.get(env), dict) else ""
        namespace = f"{prefix}{pname}"
        if namespace not in taken and is_reserved(namespace):
            taken.append(namespace)
    for namespace in taken:
        yield _problem(
            inv,
            ["dockyard_projects", i, "name"],
            f"namespace '{namespace}' is reserved (Kubernetes' kube-* and default, Argo CD's argocd, "
            f"Dockyard's build namespaces {build_namespace} and {build_namespace}-<project>)",
            "rename the project or change the environment's namespace_prefix",
        )


def _tool_problems(inv: LoadedInventory) -> Iterator[Problem]:
    tools = inv.spec.get("dockyard_tools")
    if not isinstance(tools, dict):
        return
    for name in TOOLS:
        tool = tools.get(name)
        if isinstance(tool, dict) and tool.get("mode") == "install" and not inv.groups.get(name):
            yield _problem(
                inv,
                ["dockyard_tools", name, "mode"],
                f"is 'install' but the inventory has no host in group '{name}'",
                f"add a host to group {name} in {inv.sources[0]}, or use mode: external with a url",
            )
        if isinstance(tool, dict) and tool.get("mode") == "install" and tool.get("url"):
            yield _problem(
                inv,
                ["dockyard_tools", name, "url"],
                "is only used with mode: external",
                "remove url, or set mode: external",
            )


def _hostname_collisions(inv: LoadedInventory, env_names: list[str]) -> Iterator[Problem]:
    spec = inv.spec
    domain = spec.get("dockyard_domain")
    if not isinstance(domain, str):
        return
    owners: dict[str, tuple[list[str | int], str]] = {}

    def claim(host: str, path: list[str | int], what: str) -> Iterator[Problem]:
        if host in owners:
            other_path, other_what = owners[host]
            if other_what == what:
                return  # the same service listed twice: reported as a duplicate already
            yield _problem(
                inv,
                path,
                f"{what} resolves to {host}, which {other_what} ({key_path(other_path)}) already uses",
                "give one of them a different name or hostname",
            )
        else:
            owners[host] = (path, what)

    tools = spec.get("dockyard_tools") if isinstance(spec.get("dockyard_tools"), dict) else {}
    for name in TOOLS:
        tool = tools.get(name)
        if isinstance(tool, dict) and tool.get("mode") == "install":
            host = f"{tool.get('hostname', name)}.{domain}"
            yield from claim(host, ["dockyard_tools", name], f"tool {name}")
    mirror = f"{spec.get('dockyard_mirror_hostname', DEFAULT_MIRROR_HOSTNAME)}.{domain}"
    yield from claim(mirror, ["dockyard_mirror_hostname"], "the mirror")
    for env in env_names:
        yield from claim(f"argocd.{env}.{domain}", ["dockyard_environments", env], f"Argo CD of {env}")
    projects = spec.get("dockyard_projects") if isinstance(spec.get("dockyard_projects"), list) else []
    for i, project in enumerate(projects):
        if not isinstance(project, dict) or not isinstance(project.get("name"), str):
            continue
        project_envs = project.get("environments", env_names)
        services = project.get("services") if isinstance(project.get("services"), list) else []
        for j, service in enumerate(services):
            if not isinstance(service, dict) or not isinstance(service.get("name"), str):
                continue
            label = service.get("hostname") or f"{service['name']}-{project['name']}"
            for env in project_envs if isinstance(project_envs, list) else []:
                if env in env_names:
                    yield from claim(
                        f"{label}.{env}.{domain}",
                        ["dockyard_projects", i, "services", j, "name"],
                        f"service {project['name']}/{service['name']} in {env}",
                    )


def _ci_problems(inv: LoadedInventory, env_names: list[str]) -> Iterator[Problem]:
    ci = inv.spec.get("dockyard_ci")
    if not isinstance(ci, dict):
        return
    for key in ("build_env", "bump_env"):
        env = ci.get(key)
        if isinstance(env, str) and env_names and env not in env_names:
            yield _problem(
                inv,
                ["dockyard_ci", key],
                f"unknown environment {env!r}",
                f"use one of: {', '.join(env_names)}",
            )
    build, release = ci.get("build_tag", "build/*"), ci.get("release_tag", "release/*")
    if isinstance(build, str) and build == release:
        yield _problem(
            inv,
            ["dockyard_ci", "release_tag"],
            f"is the same pattern as build_tag ({build!r})",
            "give release tags their own pattern, such as 'release/*'",
        )


# -------------------------------------------------------------------------------- single values


def _value_problems(inv: LoadedInventory) -> Iterator[Problem]:
    spec = inv.spec
    for i, project in _items(spec.get("dockyard_projects")):
        for j, service in _items(project.get("services") if isinstance(project, dict) else None):
            resources = service.get("resources") if isinstance(service, dict) else None
            if isinstance(resources, dict):
                yield from _resource_problems(inv, ["dockyard_projects", i, "services", j, "resources"], resources)
    envs = spec.get("dockyard_environments")
    for name, env in envs.items() if isinstance(envs, dict) else []:
        windows = env.get("sync_windows") if isinstance(env, dict) else None
        for k, window in _items(windows):
            if not isinstance(window, dict):
                continue
            path: list[str | int] = ["dockyard_environments", name, "sync_windows", k]
            if found := values.check_cron(window.get("schedule")):
                yield _problem(inv, [*path, "schedule"], *found)
            if found := values.check_time_zone(window.get("timeZone")):
                yield _problem(inv, [*path, "timeZone"], *found)
    catalogue = spec.get("dockyard_catalogue")
    for cname, component in catalogue.items() if isinstance(catalogue, dict) else []:
        artefacts = component.get("artefacts") if isinstance(component, dict) else None
        for aname, artefact in artefacts.items() if isinstance(artefacts, dict) else []:
            if isinstance(artefact, dict) and "ref" in artefact and (found := values.check_image(artefact["ref"])):
                yield _problem(inv, ["dockyard_catalogue", cname, "artefacts", aname, "ref"], *found)
    tools = spec.get("dockyard_tools")
    for tname, tool in tools.items() if isinstance(tools, dict) else []:
        if isinstance(tool, dict) and (found := values.check_tool_url(tool.get("url"))):
            yield _problem(inv, ["dockyard_tools", tname, "url"], *found)


def _items(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list) else []


def _resource_problems(inv: LoadedInventory, path: list[str | int], resources: dict[str, Any]) -> Iterator[Problem]:
    parsed: dict[str, dict[str, Any]] = {}
    for kind in ("requests", "limits"):
        entries = resources.get(kind)
        for resource, amount in entries.items() if isinstance(entries, dict) else []:
            if found := values.check_quantity(resource, amount):
                yield _problem(inv, [*path, kind, resource], *found)
            else:
                parsed.setdefault(kind, {})[resource] = values.quantity(amount)
    for resource, request in parsed.get("requests", {}).items():
        limit = parsed.get("limits", {}).get(resource)
        if limit is not None and request is not None and request > limit:
            yield _problem(
                inv,
                [*path, "requests", resource],
                f"request {resources['requests'][resource]!r} is above the limit {resources['limits'][resource]!r}",
                "Kubernetes refuses such a pod: lower the request or raise the limit",
            )


# ------------------------------------------------------------------------------ hosts and trees

NETWORK_CONNECTIONS = frozenset({None, "ssh", "paramiko", "ansible.builtin.ssh", "ansible.builtin.paramiko_ssh"})


def _host_problems(inv: LoadedInventory) -> Iterator[Problem]:
    default_file = str(inv.sources[-1])
    seen: dict[tuple[str, int], str] = {}
    for name in sorted(inv.hosts):
        host = inv.hosts[name]
        where = host.origin("ansible_port") or default_file
        port_value = host.get("ansible_port")
        port = 22
        if port_value is not None:
            if found := values.check_port(port_value):
                yield Problem(where, f"{name}.ansible_port", *found)
                continue
            port = int(port_value)
        if host.get("ansible_connection") not in NETWORK_CONNECTIONS:
            continue
        key = (host.address, port)
        if key in seen:
            yield Problem(
                host.origin("ansible_host") or default_file,
                f"{name}.ansible_host",
                f"{host.address}:{port} is also the address of host {seen[key]}; one machine cannot be both",
                "give each host its own address, or remove the duplicate host",
            )
        else:
            seen[key] = name


def _service_host_problems(inv: LoadedInventory) -> Iterator[Problem]:
    """The host serving a platform name gets a certificate carrying its IP address (and /etc/hosts
    entries without DNS): its address must be an IP, not a name."""
    tools = inv.spec.get("dockyard_tools") if isinstance(inv.spec.get("dockyard_tools"), dict) else {}
    serving = [t for t in TOOLS if isinstance(tools.get(t), dict) and tools[t].get("mode") == "install"]
    for group in [*serving, "mirror", CLUSTER_GROUPS[0]]:
        members = inv.groups.get(group) or []
        if not members or members[0] not in inv.hosts:
            continue
        host = inv.hosts[members[0]]
        address = str(host.get("dockyard_address") or host.address)
        try:
            ipaddress.ip_address(address)
        except ValueError:
            key = "dockyard_address" if host.get("dockyard_address") else "ansible_host"
            yield Problem(
                host.origin(key) or str(inv.sources[-1]),
                f"{host.name}.{key}",
                f"{address!r} is not an IP address; {host.name} serves group {group}'s name, and its certificate "
                f"and /etc/hosts entry need the IP",
                f"set {key} to the host's IP address",
            )


def _tree_problems(inv: LoadedInventory) -> Iterator[Problem]:
    tree = inv.tree
    if tree.is_standalone(inv.env):
        return
    shared = [e for e in tree.environments() if not tree.is_standalone(e)]
    envs = inv.spec.get("dockyard_environments")
    spec_envs = list(envs) if isinstance(envs, dict) else []
    for name in spec_envs:
        if name not in shared and name not in RESERVED_ENV_NAMES:
            yield _problem(
                inv,
                ["dockyard_environments", name],
                f"environment '{name}' has no inventory ({tree.env_dir(name) / HOSTS_FILE} does not exist)",
                f"create {tree.env_dir(name) / HOSTS_FILE} with its cluster hosts, or remove the entry",
            )
    for name in shared:
        if spec_envs and name not in spec_envs and name != inv.env:  # inv.env: reported above
            yield Problem(
                str(tree.env_dir(name) / HOSTS_FILE),
                "dockyard_environments",
                f"inventory '{name}' has no entry in the platform spec's dockyard_environments",
                f"add '{name}: {{sync: auto}}' to dockyard_environments, or remove the folder {tree.env_dir(name)}",
            )
    yield from _host_name_conflicts(inv, [PLATFORM, *shared])


def _host_name_conflicts(inv: LoadedInventory, folders: list[str]) -> Iterator[Problem]:
    """One host name in two inventories with different addresses: Ansible would keep one silently."""
    mine = {str(s) for s in inv.sources}
    found: dict[str, list[tuple[str, int, str]]] = {}
    for folder in folders:
        path = inv.tree.root / folder / HOSTS_FILE
        if path.is_file():
            for host, line, address in inventory_hosts(path):
                found.setdefault(host, []).append((str(path), line, address))
    for host, places in sorted(found.items()):
        addresses = {address for _f, _l, address in places}
        if len(addresses) < 2 or not any(f in mine for f, _l, _a in places):
            continue
        (first_file, first_line, first_address), *others = places
        for file, line, address in others:
            if address != first_address:
                yield Problem(
                    f"{file}:{line}",
                    f"{host}.ansible_host",
                    f"host '{host}' is {address} here but {first_address} in {first_file}:{first_line}",
                    "give the host one address everywhere, or two different names",
                )


def inventory_hosts(path: Path) -> Iterator[tuple[str, int, str]]:
    """(host, line, ansible_host or the name) for every host a YAML inventory file lists."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return  # reported by the file checks
    yield from _hosts_under(root)


def _hosts_under(node: Any) -> Iterator[tuple[str, int, str]]:
    if not isinstance(node, yaml.MappingNode):
        return
    for _name, body in node.value:
        if not isinstance(body, yaml.MappingNode):
            continue
        for sub_key, sub in body.value:
            if sub_key.value == "hosts" and isinstance(sub, yaml.MappingNode):
                for host_key, host_vars in sub.value:
                    address = host_key.value
                    if isinstance(host_vars, yaml.MappingNode):
                        for var, value in host_vars.value:
                            if var.value == "ansible_host" and isinstance(value, yaml.ScalarNode):
                                address = value.value
                    yield str(host_key.value), host_key.start_mark.line + 1, str(address)
            elif sub_key.value == "children":
                yield from _hosts_under(sub)


# ------------------------------------------------------------------------- what seed will need


def _tool_access_problems(inv: LoadedInventory, root: Path) -> Iterator[Problem]:
    tools = inv.spec.get("dockyard_tools")
    vault = inv.spec.get(SECRETS_KEY) if isinstance(inv.spec.get(SECRETS_KEY), dict) else {}
    for name, tool in tools.items() if isinstance(tools, dict) else []:
        if not isinstance(tool, dict):
            continue
        ca_file = tool.get("ca_file")
        if isinstance(ca_file, str):
            ca = Path(ca_file).expanduser()
            ca = ca if ca.is_absolute() else root / ca
            if not ca.is_file():
                yield _problem(
                    inv,
                    ["dockyard_tools", name, "ca_file"],
                    f"{ca} does not exist (seed verifies {name}'s TLS with it)",
                    "give the path of the CA bundle that signed the tool's certificate",
                )
        token_env = tool.get("token_env")
        if (
            tool.get("mode") == "external"
            and isinstance(token_env, str)
            and not os.environ.get(token_env)
            and not vault.get(admin_token_key(name))
        ):
            yield _problem(
                inv,
                ["dockyard_tools", name, "token_env"],
                f"environment variable {token_env} is not set, and the vault has no {admin_token_key(name)}: "
                f"seed cannot log in to {name}",
                f"export {token_env}=<admin token> before running, or store it as vault key {admin_token_key(name)}",
            )


# ------------------------------------------------------------------------------------ the model


def build(spec: dict[str, Any]) -> Platform:
    envs = {
        name: Environment(
            name=name,
            sync=e["sync"],
            sync_windows=tuple(e.get("sync_windows", [])),
            namespace_prefix=e.get("namespace_prefix", ""),
        )
        for name, e in spec["dockyard_environments"].items()
    }
    projects = tuple(
        Project(
            name=p["name"],
            services=tuple(
                Service(
                    name=s["name"],
                    port=s["port"],
                    hostname=s.get("hostname"),
                    ingress=s.get("ingress", False),
                    replicas=s.get("replicas", 1),
                    health_path=s.get("health_path"),
                    resources=s.get("resources", {}),
                )
                for s in p["services"]
            ),
            environments=tuple(p.get("environments", list(envs))),
            cluster_resources=tuple(p.get("cluster_resources", [])),
        )
        for p in spec["dockyard_projects"]
    )
    tools = {
        name: Tool(
            name=name,
            mode=t["mode"],
            hostname=t.get("hostname", name),
            url=t.get("url"),
            ca_file=t.get("ca_file"),
            token_env=t.get("token_env"),
        )
        for name, t in spec["dockyard_tools"].items()
    }
    return Platform(
        domain=spec["dockyard_domain"],
        airgap=spec["dockyard_airgap"],
        dns=spec.get("dockyard_dns", True),
        argocd_layout=spec["dockyard_argocd_layout"],
        argocd_central_env=spec.get("dockyard_argocd_central_env"),
        environments=envs,
        projects=projects,
        tools=tools,
        mirror_hostname=spec.get("dockyard_mirror_hostname", DEFAULT_MIRROR_HOSTNAME),
        mirror_registry_port=spec.get("dockyard_mirror_registry_port", DEFAULT_MIRROR_REGISTRY_PORT),
        ci=CiSettings(**spec.get("dockyard_ci", {})),
        registry=RegistrySettings(**spec.get("dockyard_registry", {})),
    )

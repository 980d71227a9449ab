#!/usr/bin/python
"""Ansible module: keep exactly a locked set of Jenkins plugins in JENKINS_HOME/plugins, in one call.

Runs on the target host, so it is self-contained (standard library only). Each plugin is fetched
from its location (upstream or the mirror), verified against its sha256 when the lockfile has one,
and written as ``<id>.jpi`` (what Jenkins and the plugin installation manager use). Plugins the
module installed earlier (listed in the manifest file) that left the set are removed, with their
exploded directories; plugins someone else put there are left alone and reported.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: dockyard_jenkins_plugins
short_description: Keep exactly a locked set of Jenkins plugins
description:
  - Downloads missing or changed plugins, verifies sha256 when given, removes the ones it installed
    that are no longer in the set. Changed only when the set on disk changed. Supports check mode.
options:
  directory:
    description: JENKINS_HOME/plugins.
    type: path
    required: true
  manifest:
    description: File name (inside directory) recording what this module installed.
    type: str
    default: .dockyard-plugins.json
  plugins:
    description: The lockfile, as dockyard_artefact returns it (id, version, location, sha256).
    type: list
    elements: dict
    required: true
  owner:
    description: Owner of the plugin files.
    type: str
    default: jenkins
  group:
    description: Group of the plugin files.
    type: str
    default: jenkins
  ca_path:
    description: CA bundle to verify HTTPS downloads with (default, the system trust store).
    type: path
"""

RETURN = r"""
added:
  description: Plugin ids written (new or at another version).
  type: list
  returned: always
removed:
  description: Plugin ids removed because they left the set.
  type: list
  returned: always
foreign:
  description: Plugin files present that Dockyard did not install (left in place).
  type: list
  returned: always
"""

import grp
import hashlib
import json
import os
import pwd
import shutil
import ssl
import tempfile
import urllib.request

from ansible.module_utils.basic import AnsibleModule


def _load(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, directory: str, context: ssl.SSLContext) -> str:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".download-")
    with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=120, context=context) as answer:  # noqa: S310
        shutil.copyfileobj(answer, out)
    return tmp


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "directory": {"type": "path", "required": True},
            "manifest": {"type": "str", "default": ".dockyard-plugins.json"},
            "plugins": {"type": "list", "elements": "dict", "required": True},
            "owner": {"type": "str", "default": "jenkins"},
            "group": {"type": "str", "default": "jenkins"},
            "ca_path": {"type": "path"},
        },
        supports_check_mode=True,
    )
    p = module.params
    directory = p["directory"]
    wanted: dict[str, dict] = {}
    for entry in p["plugins"]:
        pid, version, location = entry.get("id"), entry.get("version"), entry.get("location")
        if not pid or not version or not location:
            module.fail_json(
                msg=f"dockyard_jenkins_plugins: plugins: entry {entry.get('id')!r} needs id, version and location"
            )
        wanted[str(pid)] = {"version": str(version), "location": str(location), "sha256": entry.get("sha256") or ""}
    manifest_path = os.path.join(directory, p["manifest"])
    installed = _load(manifest_path)  # id -> {version, sha256 of the file written}
    added, removed = [], []
    for pid, want in sorted(wanted.items()):
        have = installed.get(pid) or {}
        path = os.path.join(directory, f"{pid}.jpi")
        if have.get("version") == want["version"] and os.path.isfile(path) and _sha256(path) == have.get("file_sha256"):
            continue
        added.append(pid)
    for pid in sorted(set(installed) - set(wanted)):
        removed.append(pid)
    foreign = sorted(
        name.rsplit(".", 1)[0]
        for name in (os.listdir(directory) if os.path.isdir(directory) else [])
        if name.endswith((".jpi", ".hpi"))
        and name.rsplit(".", 1)[0] not in wanted
        and name.rsplit(".", 1)[0] not in installed
    )
    changed = bool(added or removed)
    if module.check_mode or not changed:
        module.exit_json(changed=changed, added=added, removed=removed, foreign=foreign)
    try:
        uid, gid = pwd.getpwnam(p["owner"]).pw_uid, grp.getgrnam(p["group"]).gr_gid
    except KeyError as exc:
        module.fail_json(msg=f"dockyard_jenkins_plugins: unknown owner or group: {exc}")
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
        os.chown(directory, uid, gid)
    context = ssl.create_default_context(cafile=p["ca_path"]) if p["ca_path"] else ssl.create_default_context()
    for pid in added:
        want = wanted[pid]
        try:
            tmp = _fetch(want["location"], directory, context)
        except OSError as exc:
            module.fail_json(
                msg=f"dockyard_jenkins_plugins: {pid} {want['version']}: download from {want['location']} failed: {exc}"
            )
        got = _sha256(tmp)
        if want["sha256"] and got != want["sha256"]:
            os.unlink(tmp)
            module.fail_json(
                msg=f"dockyard_jenkins_plugins: {pid} {want['version']}: sha256 {got} "
                f"does not match the lockfile's {want['sha256']}"
            )
        os.chmod(tmp, 0o644)
        os.chown(tmp, uid, gid)
        os.replace(tmp, os.path.join(directory, f"{pid}.jpi"))
        shutil.rmtree(os.path.join(directory, pid), ignore_errors=True)  # Jenkins explodes the new one
        installed[pid] = {"version": want["version"], "file_sha256": got}
    for pid in removed:
        for leftover in (f"{pid}.jpi", f"{pid}.hpi", f"{pid}.jpi.pinned", f"{pid}.jpi.disabled"):
            path = os.path.join(directory, leftover)
            if os.path.exists(path):
                os.unlink(path)
        shutil.rmtree(os.path.join(directory, pid), ignore_errors=True)
        installed.pop(pid, None)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".manifest-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(installed, fh, indent=1, sort_keys=True)
    os.chown(tmp, uid, gid)
    os.replace(tmp, manifest_path)
    module.exit_json(changed=True, added=added, removed=removed, foreign=foreign)


if __name__ == "__main__":
    main()

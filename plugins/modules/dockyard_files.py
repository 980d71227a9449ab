#!/usr/bin/python
"""Ansible module: keep several small files in one call (one SSH round trip instead of one per file).

Runs on the target host, so it is self-contained: it only writes what it is given, atomically,
and reports which files changed (with a diff in --diff mode).
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: dockyard_files
short_description: Keep several small text files with given content, in one call
description:
  - Writes each file only when its content, mode or ownership differ; parents are created (0755).
  - Atomic replacement; supports check mode and diff mode.
options:
  files:
    description: Files to keep.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      content:
        description: Full text content.
        type: str
        required: true
      mode:
        description: File mode, as an octal string.
        type: str
        default: "0644"
  owner:
    description: Owner of the files and created folders.
    type: str
    default: root
  group:
    description: Group of the files and created folders.
    type: str
    default: root
"""

RETURN = r"""
changed_files:
  description: Paths that were (or, in check mode, would be) written.
  type: list
  returned: always
"""

import grp
import os
import pwd
import tempfile

from ansible.module_utils.basic import AnsibleModule


def _needs_write(path: str, content: bytes, mode: int, uid: int, gid: int) -> tuple[bool, str]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return True, ""
    with open(path, "rb") as fh:
        current = fh.read()
    differs = current != content or (st.st_mode & 0o7777) != mode or st.st_uid != uid or st.st_gid != gid
    return differs, current.decode("utf-8", errors="replace")


def _write(path: str, content: bytes, mode: int, uid: int, gid: int) -> None:
    parent = os.path.dirname(path)
    missing = []
    while parent and not os.path.isdir(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    for folder in reversed(missing):
        os.mkdir(folder, 0o755)
        os.chown(folder, uid, gid)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".dockyard-")
    try:
        os.fchmod(fd, mode)
        os.fchown(fd, uid, gid)
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "path": {"type": "path", "required": True},
                    "content": {"type": "str", "required": True},
                    "mode": {"type": "str", "default": "0644"},
                },
            },
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
        },
        supports_check_mode=True,
    )
    uid = pwd.getpwnam(module.params["owner"]).pw_uid
    gid = grp.getgrnam(module.params["group"]).gr_gid
    changed_files = []
    diffs = []
    for spec in module.params["files"]:
        path = spec["path"]
        if not os.path.isabs(path):
            module.fail_json(msg=f"{path}: not an absolute path")
        content = spec["content"].encode()
        mode = int(spec["mode"], 8)
        differs, before = _needs_write(path, content, mode, uid, gid)
        if not differs:
            continue
        changed_files.append(path)
        diffs.append({"before_header": path, "after_header": path, "before": before, "after": spec["content"]})
        if not module.check_mode:
            _write(path, content, mode, uid, gid)
    module.exit_json(changed=bool(changed_files), changed_files=changed_files, diff=diffs)


if __name__ == "__main__":
    main()

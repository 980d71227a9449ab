"""STAND-IN for crictl (Dockyard tests only; never part of the product): the calls the product makes.

* ``crictl --version``;
* ``crictl pods [--name REGEX] [-q|--quiet]``: the pod sandboxes the stand-in kubelet runs (it
  records each in /run/dockyard-standin/pods/<id>.json); ``--name`` is a regular expression on the
  pod's name, ``-q`` prints only the IDs (cri-tools' flags);
* ``crictl stopp ID...``: asks the kubelet to stop each sandbox (``<id>.stop``) and returns once it
  has (the kubelet removes the sandbox, then recreates the static pod, as it does after a stop);
  prints "Stopped sandbox <id>" as crictl does. An unknown ID fails as crictl does.

Anything else is refused (standin_lib).
"""

from __future__ import annotations

import re
import sys
import time

import standin_lib as s

VERSION = "__VERSION__"
STOP_TIMEOUT_S = 30.0
SPEC = {
    "": {"flags": {"--version": False}, "args": (0, 0)},
    "pods": {"flags": {"--name": True, "-q": False, "--quiet": False}, "args": (0, 0)},
    "stopp": {"flags": {}, "args": (1, 99)},
}


def main() -> None:
    cmd = s.parse("crictl", sys.argv[1:], SPEC)
    if cmd.subcommand == "":
        if not cmd.flag("--version"):
            s.unsupported("crictl without a subcommand")
        print(f"crictl version v{VERSION} (stand-in)")
        return
    if cmd.subcommand == "pods":
        pattern = re.compile(str(cmd.flag("--name") or ""))
        chosen = [p for p in s.sandboxes() if pattern.search(p["name"])]
        quiet = cmd.flag("-q") or cmd.flag("--quiet")
        for pod in chosen:
            print(pod["id"] if quiet else f"{pod['id']}  Ready  {pod['name']}  {pod['namespace']}")
        return
    for pod_id in cmd.args:
        if not s.sandbox_exists(pod_id):
            s.fail(f'stopping the pod sandbox "{pod_id}": rpc error: code = NotFound desc = not found')
        s.request_stop(pod_id)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while s.sandbox_exists(pod_id):
            if time.monotonic() > deadline:
                s.fail(f'stopping the pod sandbox "{pod_id}": timed out (the kubelet did not stop it)')
            time.sleep(0.2)
        print(f"Stopped sandbox {pod_id}")


if __name__ == "__main__":
    main()

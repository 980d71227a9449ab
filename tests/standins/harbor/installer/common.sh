#!/bin/bash
# STAND-IN of harbor-offline-installer's common.sh (tests only, never shipped; not Harbor):
# the same helper names install.sh uses, plus the stand-in's call log.
set -e
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

note() { printf '\n[Step] %s\n' "$*"; }
warn() { printf '[WARN] %s\n' "$*" >&2; }
error() { printf '[ERROR] %s\n' "$*" >&2; }

# Every call is recorded ({tool, argv, time, cwd} in /var/log/dockyard-standin/calls.jsonl).
record() {
  python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import standin_lib; standin_lib.record(sys.argv[2], sys.argv[3:])' \
    "$HERE" "$@"
}

check_docker() {
  if ! docker --version &>/dev/null; then
    error "Need to install docker(20.10.10+) first and run this script again."
    exit 1
  fi
  note "docker: $(docker --version)"
}

check_dockercompose() {
  if docker compose version &>/dev/null; then
    DOCKER_COMPOSE="docker compose"
  elif docker-compose --version &>/dev/null; then
    DOCKER_COMPOSE="docker-compose"
  else
    error "Need to install docker-compose(1.18.0+) or a docker-compose-plugin (https://docs.docker.com/compose/) by yourself first and run this script again."
    exit 1
  fi
  note "compose: $($DOCKER_COMPOSE version | head -1)"
}

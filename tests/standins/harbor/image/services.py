"""STAND-IN services of Harbor's compose project (tests only, never shipped; not Harbor).

One image, tagged with the upstream image names, runs every stand-in container:

* ``prepare [--with-trivy]`` (goharbor/prepare): validates /input/harbor.yml against the
  installer's own harbor.yml.tmpl (every key, its type, _version) and that the certificate and key
  it names exist (through /hostfs), then writes docker-compose.yml and common/config/ into
  /compose_location, as upstream's prepare does. Any other flag: "stand-in: unsupported".
* ``migrate -i PATH`` (goharbor/prepare): steps harbor.yml's _version up to the template's, one
  minor at a time (upstream accepts >= 1.9.0); refuses anything older or newer.
* ``core``: the Harbor API test double (tests/fakes/harbor.py, every call validated against the
  swagger) on :8080, its state kept in /data/database/standin-state.json (the database folder
  backups copy); GET /api/v2.0/health probes the registry and Trivy containers for real.
  Like upstream's core it migrates the database schema when it starts: schema_migrations
  (/data/database/schema_migrations.json: version, dirty) is marked dirty, stepped to this
  version's schema and marked clean; a dirty schema left by an earlier start stops it (as
  golang-migrate does: "Dirty database version").
* ``db`` (goharbor/harbor-db): holds the database folder ({data_volume}/database, mounted where
  upstream mounts it, /var/lib/postgresql/data); ``psql -U USER -d registry -tAc SQL`` (a wrapper
  in the image) answers only ``SELECT dirty FROM schema_migrations`` / ``SELECT version FROM
  schema_migrations`` from the table the stand-in core keeps there; any other query or flag:
  "stand-in: unsupported". Not PostgreSQL.
* ``trivy``: answers /probe/healthy only when its settings are consistent: with
  SCANNER_TRIVY_SKIP_UPDATE=true the database must be where the adapter reads it
  (/home/scanner/.cache/trivy/db/trivy.db, and metadata.json of schema Version 2).
The nginx and registry containers run Debian's nginx and docker-registry (distribution).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn

import yaml
from tests.fakes import server  # the image's PYTHONPATH: /standin/src:/standin
from tests.fakes.harbor import HarborDouble
from tests.standins import standin_lib

TEMPLATE = Path("/standin/harbor.yml.tmpl")
HOSTFS = Path("/hostfs")


def fail(message: str) -> NoReturn:
    standin_lib.fail(f"[ERROR] stand-in prepare: {message}")


# ------------------------------------------------------------------------------------ prepare
def _leaves(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: tree}


def validate(config: dict[str, Any]) -> None:
    template = yaml.safe_load(TEMPLATE.read_text())
    if config.get("_version") != template["_version"]:
        fail(f"harbor.yml: _version {config.get('_version')} is not {template['_version']}: run migrate first")
    external = bool(config.get("external_database"))
    want = {k: v for k, v in _leaves(template).items() if not (external and k.startswith("database."))}
    got = _leaves(config)
    for key, value in want.items():
        if key not in got:
            fail(f"harbor.yml: {key}: missing (the template has it)")
        if value is not None and type(got[key]) is not type(value):
            fail(f"harbor.yml: {key}: {got[key]!r} is not a {type(value).__name__}")
    optional = (
        "external_database.",
        "https.strong_ssl_ciphers",
        "internal_tls.",
        "external_url",
        "storage_service.",
        "redis.",
        "external_redis.",
        "uaa.",
        "metric.",
        "trace.",
        "core.",
        "ip_family.",
        "trivy.github_token",
    )
    unknown = [k for k in got if k not in want and not k.startswith(optional)]
    if unknown:
        fail(f"harbor.yml: unknown keys {sorted(unknown)}")
    for key in ("hostname", "harbor_admin_password", "data_volume"):
        if not config.get(key):
            fail(f"harbor.yml: {key}: empty")
    for key in ("certificate", "private_key"):
        path = HOSTFS / str(config["https"][key]).lstrip("/")
        if not path.is_file():
            fail(f"harbor.yml: https.{key}: {config['https'][key]} does not exist")


def compose(config: dict[str, Any], version: str, with_trivy: bool) -> dict[str, Any]:
    data = config["data_volume"]
    image = f"goharbor/{{}}:{version}"
    common = {"restart": "always", "networks": ["harbor"]}
    services: dict[str, Any] = {
        "registry": {
            **common,
            "image": image.format("registry-photon"),
            "container_name": "registry",
            "entrypoint": ["/usr/bin/docker-registry", "serve", "/etc/registry/config.yml"],
            "volumes": [f"{data}/registry:/storage:z", "./common/config/registry/:/etc/registry/:z"],
        },
        "postgresql": {
            **common,
            "image": image.format("harbor-db"),
            "container_name": "harbor-db",
            "command": ["db"],
            "volumes": [f"{data}/database:/var/lib/postgresql/data:z"],
        },
        "core": {
            **common,
            "image": image.format("harbor-core"),
            "container_name": "harbor-core",
            "command": ["core"] + (["--with-trivy"] if with_trivy else []),
            "volumes": [f"{data}/database:/data/database:z", f"{data}/secret:/data/secret:z"],
            "environment": {"HARBOR_ADMIN_PASSWORD_FILE": "/etc/core/admin_password"},
            "depends_on": ["registry", "postgresql"],
        },
        "proxy": {
            **common,
            "image": image.format("nginx-photon"),
            "container_name": "nginx",
            "entrypoint": ["nginx", "-g", "daemon off;", "-c", "/etc/nginx/nginx.conf"],
            "volumes": [
                "./common/config/nginx:/etc/nginx:z",
                f"{config['https']['certificate']}:/etc/cert/server.crt:ro",
                f"{config['https']['private_key']}:/etc/cert/server.key:ro",
            ],
            "ports": [f"{config['http']['port']}:8080", f"{config['https']['port']}:8443"],
            "depends_on": ["core", "registry"],
        },
    }
    services["core"]["volumes"].append("./common/config/core/admin_password:/etc/core/admin_password:ro")
    if with_trivy:
        trivy = config["trivy"]
        services["trivy-adapter"] = {
            **common,
            "image": image.format("trivy-adapter-photon"),
            "container_name": "trivy-adapter",
            "command": ["trivy"],
            "volumes": [f"{data}/trivy-adapter/trivy:/home/scanner/.cache/trivy"],
            "environment": {
                "SCANNER_TRIVY_SKIP_UPDATE": str(trivy["skip_update"]).lower(),
                "SCANNER_TRIVY_SKIP_JAVA_DB_UPDATE": str(trivy["skip_java_db_update"]).lower(),
                "SCANNER_TRIVY_OFFLINE_SCAN": str(trivy["offline_scan"]).lower(),
                "SCANNER_TRIVY_DB_REPOSITORY": trivy["db_repository"],
                "SCANNER_TRIVY_JAVA_DB_REPOSITORY": trivy["java_db_repository"],
            },
        }
    return {"version": "2.3", "services": services, "networks": {"harbor": {"external": False}}}


NGINX = """worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr;
events { worker_connections 256; }
http {
  access_log /dev/stdout;
  client_max_body_size 0;
  server { listen 8080; return 308 https://$host$request_uri; }
  server {
    listen 8443 ssl;
    ssl_certificate /etc/cert/server.crt;
    ssl_certificate_key /etc/cert/server.key;
    location /api/ { proxy_pass http://core:8080; proxy_set_header Host $host; }
    location /v2/ { proxy_pass http://registry:5000; proxy_set_header Host $http_host;
                    proxy_set_header X-Forwarded-Proto https; proxy_request_buffering off; }
  }
}
"""

REGISTRY = """version: 0.1
storage:
  filesystem:
    rootdirectory: /storage
http:
  addr: :5000
"""


def prepare(argv: list[str]) -> None:
    with_trivy = False
    for arg in argv:
        if arg == "--with-trivy":
            with_trivy = True
        else:
            standin_lib.unsupported(f"prepare flag {arg}")
    out = Path("/compose_location")
    config = yaml.safe_load((Path("/input") / "harbor.yml").read_text())
    if not isinstance(config, dict):
        fail("harbor.yml: not a mapping")
    validate(config)
    version = os.environ["STANDIN_VERSION"]
    (out / "docker-compose.yml").write_text(yaml.safe_dump(compose(config, version, with_trivy), sort_keys=False))
    for rel, text, mode in (
        ("common/config/nginx/nginx.conf", NGINX, 0o644),
        ("common/config/registry/config.yml", REGISTRY, 0o644),
        ("common/config/core/admin_password", str(config["harbor_admin_password"]), 0o600),
    ):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
    print("Generated configuration file: /compose_location/docker-compose.yml")


def migrate(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] != "-i":
        standin_lib.unsupported(f"migrate arguments {argv}")
    path = HOSTFS / argv[1].lstrip("/")
    config = yaml.safe_load(path.read_text())
    target = yaml.safe_load(TEMPLATE.read_text())["_version"]
    current = str(config.get("_version", ""))
    parse = lambda v: tuple(int(x) for x in v.split(".")[:2])  # noqa: E731
    if not re.fullmatch(r"\d+\.\d+\.\d+", current) or parse(current) < (1, 9):
        fail(f"migrate: {argv[1]}: _version {current!r}: only 1.9.0 and later can be migrated")
    if parse(current) > parse(target):
        fail(f"migrate: {argv[1]}: _version {current} is newer than {target}")
    if current == target:
        print(f"migrate: {argv[1]} is already at {target}")
        return
    config["_version"] = target
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"migrate: {argv[1]} migrated from {current} to {target}")


# --------------------------------------------------------------------------------------- core
STATE = Path("/data/database/standin-state.json")
SCHEMA = Path("/data/database/schema_migrations.json")


def schema_version(version: str) -> int:
    """The stand-in's schema number of a Harbor version: one schema per minor (v2.15.2 -> 215)."""
    major, minor = (int(x) for x in version.lstrip("v").split(".")[:2])
    return major * 100 + minor


def migrate_schema(version: str) -> None:
    target = schema_version(version)
    current = json.loads(SCHEMA.read_text()) if SCHEMA.is_file() else {"version": 0, "dirty": False}
    if current["dirty"]:
        print(f"stand-in core: Dirty database version {current['version']}. Fix and force version.", file=sys.stderr)
        sys.exit(1)
    if current["version"] > target:
        print(f"stand-in core: database schema {current['version']} is newer than {target}", file=sys.stderr)
        sys.exit(1)
    if current["version"] == target:
        return
    SCHEMA.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA.write_text(json.dumps({**current, "dirty": True}))
    SCHEMA.write_text(json.dumps({"version": target, "dirty": False, "migrated_from": current["version"]}))
    print(f"stand-in core: schema migrated {current['version']} -> {target}", flush=True)


def _probe(url: str) -> dict[str, str] | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:  # noqa: S310 (the compose network's own services)
            return None if resp.status < 500 else {"error": f"HTTP {resp.status}"}
    except urllib.error.HTTPError as exc:
        return None if exc.code < 500 else {"error": f"HTTP {exc.code}"}
    except OSError as exc:
        return {"error": str(exc)}


def core(argv: list[str]) -> None:
    with_trivy = argv == ["--with-trivy"]
    if argv and not with_trivy:
        standin_lib.unsupported(f"core arguments {argv}")
    migrate_schema(os.environ["STANDIN_VERSION"])
    double = HarborDouble(password=Path(os.environ["HARBOR_ADMIN_PASSWORD_FILE"]).read_text())
    if STATE.is_file():  # the admin password, like Harbor's, is the first install's
        state = json.loads(STATE.read_text())
        double.password = state["password"]
        for kind in ("projects", "robots", "robot_secrets", "retentions"):
            setattr(double, kind, {int(k): v for k, v in state[kind].items()})
        double._ids = state["ids"]

    def components() -> list[dict[str, str]]:
        probes = {"core": None, "registry": _probe("http://registry:5000/v2/")}
        if with_trivy:
            probes["trivy"] = _probe("http://trivy-adapter:8080/probe/healthy")
        return [
            {"name": n, "status": "healthy"} if p is None else {"name": n, "status": "unhealthy", **p}
            for n, p in probes.items()
        ]

    double.health_components = components

    def save() -> None:
        with double._lock:
            state = {k: getattr(double, k) for k in ("projects", "robots", "robot_secrets", "retentions")}
            STATE.parent.mkdir(parents=True, exist_ok=True)
            STATE.write_text(json.dumps({**state, "password": double.password, "ids": double._ids}))

    class Saving:
        """Keeps the double's state on disk after every write, as Harbor's database would."""

        def handle(self, request: server.Request) -> server.Response:
            response = double.handle(request)
            if request.method not in server.READ_METHODS:
                save()
            if double.violations:
                print(f"stand-in core: swagger violations: {double.violations}", file=sys.stderr, flush=True)
            return response

    if not STATE.is_file():
        save()
    server.DoubleServer(Saving(), None, bind=("0.0.0.0", 8080)).serve_forever()  # noqa: S104 (in its container)


# ----------------------------------------------------------------------------------- harbor-db
DB_DATA = Path("/var/lib/postgresql/data")


def db(argv: list[str]) -> None:
    if argv:
        standin_lib.unsupported(f"db arguments {argv}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


def psql(argv: list[str]) -> None:
    """``psql -U USER -d DB -tAc SQL``: only the two schema_migrations queries."""
    parser = argparse.ArgumentParser(prog="psql", add_help=False)
    parser.add_argument("-U", required=True)
    parser.add_argument("-d", required=True)
    parser.add_argument("-t", action="store_true")
    parser.add_argument("-A", action="store_true")
    parser.add_argument("-c", required=True)
    args, rest = parser.parse_known_args(argv)
    if rest or not (args.t and args.A):
        standin_lib.unsupported(f"psql arguments {argv}")
    if args.d != "registry":
        standin_lib.fail(f'psql: error: FATAL:  database "{args.d}" does not exist')
    column = re.fullmatch(r"\s*SELECT (dirty|version) FROM schema_migrations;?\s*", args.c)
    if not column:
        standin_lib.unsupported(f"psql query {args.c!r}")
    path = DB_DATA / "schema_migrations.json"
    if not path.is_file():
        standin_lib.fail('ERROR:  relation "schema_migrations" does not exist')
    value = json.loads(path.read_text())[column.group(1)]
    print(("t" if value else "f") if column.group(1) == "dirty" else value)


def _metadata_version(path: Path) -> int | None:
    """metadata.json's schema Version (Trivy DB v2 has 2), None when missing or unreadable."""
    try:
        return int(json.loads(path.read_text())["Version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def trivy(argv: list[str]) -> None:
    if argv:
        standin_lib.unsupported(f"trivy arguments {argv}")
    skip = os.environ.get("SCANNER_TRIVY_SKIP_UPDATE") == "true"
    db = Path("/home/scanner/.cache/trivy/db")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = not skip or ((db / "trivy.db").is_file() and _metadata_version(db / "metadata.json") == 2)
            status = 200 if self.path == "/probe/healthy" and ok else 503 if self.path == "/probe/healthy" else 404
            self.send_response(status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()  # noqa: S104 (container)


def main() -> None:
    parser = argparse.ArgumentParser(prog="stand-in")
    parser.add_argument("command")
    args, rest = parser.parse_known_args()
    commands = {"prepare": prepare, "migrate": migrate, "core": core, "db": db, "psql": psql, "trivy": trivy}
    if args.command not in commands:
        standin_lib.unsupported(f"command {args.command}")
    commands[args.command](rest)


if __name__ == "__main__":
    main()

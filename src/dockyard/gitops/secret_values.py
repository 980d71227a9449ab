"""Credentials, filled into rendered objects at apply time only; never written to the rendered tree.

* the Argo CD admin password: plain in the vault (``argocd.<env>.admin_password``), its bcrypt hash
  and set-time kept beside it so the chart values stay the same from run to run;
* ``dockyard.io/value-from.<field>: <source>:<key>`` annotations on Secrets (see argocd_objects):
  ``vault:<key>``, ``kubeconfig-server:<env>``, ``kubeconfig-config:<env>``, ``pki-cert:<name>``,
  ``pki-key:<name>``.

The ``vault`` and ``harbor-pull`` sources are what ``invoke seed`` stores (GitLab deploy keys, Harbor
robot secrets): on a first bootstrap they are missing until seed has run (:data:`SEED_SOURCES`).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import bcrypt
import yaml

from dockyard.gitops import names
from dockyard.gitops.argocd_values import AdminPassword
from dockyard.problems import InvalidInput

# The value sources invoke seed fills; the others come from earlier phases (kubeconfigs, the internal CA).
SEED_SOURCES = frozenset({"vault", "harbor-pull"})


class SecretLookup(Protocol):
    def get(self, key: str) -> str | None: ...


class SecretStore(SecretLookup, Protocol):
    def set(self, key: str, value: str) -> bool: ...

    def get_or_create(self, key: str, generate: Callable[[], str]) -> tuple[str, bool]: ...


def admin_password(store: SecretStore, env: str, generate: Callable[[], str]) -> AdminPassword:
    """The admin password's bcrypt hash; hashed again only when the password in the vault changed."""
    key = names.admin_password(env)
    plain, _created = store.get_or_create(key, generate)
    hashed = store.get(f"{key}_bcrypt")
    mtime = store.get(f"{key}_mtime")
    if hashed and mtime and _matches(plain, hashed):
        return AdminPassword(hashed, mtime)
    hashed = bcrypt.hashpw(plain.encode(), bcrypt.gensalt()).decode()
    mtime = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    store.set(f"{key}_bcrypt", hashed)
    store.set(f"{key}_mtime", mtime)
    return AdminPassword(hashed, mtime)


def _matches(plain: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(plain.encode(), hashed.encode())
    except ValueError:
        return False


@dataclass
class Resolver:
    """Fills ``value-from`` annotations. Unresolvable references are reported, not guessed."""

    vault: SecretLookup
    kubeconfigs: Mapping[str, Path]
    pki_dir: Path
    registry: str = ""  # Harbor's host name: the image pull Secrets' registry
    missing: list[str] = field(default_factory=list)

    def fill(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """The object with every referenced field in ``data`` (base64), or None when one cannot be found.

        ``stringData`` is folded into ``data`` too, so what is applied compares equal to what the API
        server returns.
        """
        if obj.get("kind") != "Secret":
            return obj
        filled = copy.deepcopy(obj)
        plain: dict[str, str] = dict(filled.pop("stringData", {}) or {})
        for field_name, ref in sorted(_refs(obj).items()):
            value = self.value(ref)
            if value is None:
                self.missing.append(f"Secret {obj['metadata']['name']}: {field_name} from {ref}: {self._why(ref)}")
                return None
            plain[field_name] = value
        data = dict(filled.get("data") or {})
        data.update({k: base64.b64encode(v.encode()).decode() for k, v in plain.items()})
        filled["data"] = dict(sorted(data.items()))
        return filled

    def waits_on_seed(self, obj: dict[str, Any]) -> bool:
        """Whether the values this Secret lacks are all ones invoke seed stores (so applying it again
        after seed fills it in)."""
        lacking = [ref for ref in _refs(obj).values() if self.value(ref) is None]
        return bool(lacking) and all(ref.partition(":")[0] in SEED_SOURCES for ref in lacking)

    def value(self, ref: str) -> str | None:
        source, _, key = ref.partition(":")
        if source == "vault":
            return self.vault.get(key)
        if source in ("kubeconfig-server", "kubeconfig-config"):
            path = self.kubeconfigs.get(key)
            if path is None or not path.is_file():
                return None
            server, config = cluster_credentials(path)
            return server if source == "kubeconfig-server" else config
        if source == "harbor-pull":  # "<robot name> <vault key of its secret>": a dockerconfigjson
            robot, _, secret_key = key.partition(" ")
            secret = self.vault.get(secret_key)
            if secret is None or not self.registry:
                return None
            auth = base64.b64encode(f"{robot}:{secret}".encode()).decode()
            entry = {"username": robot, "password": secret, "auth": auth}
            return json.dumps({"auths": {self.registry: entry}}, sort_keys=True)
        if source in ("pki-cert", "pki-key"):
            path = self.pki_dir / "certs" / f"{key}.{'crt' if source == 'pki-cert' else 'key'}"
            return path.read_text(encoding="utf-8") if path.is_file() else None
        raise InvalidInput(f"{ref}: unknown value source '{source}' (a bug: report it)")

    def _why(self, ref: str) -> str:
        source, _, key = ref.partition(":")
        if source == "vault":
            return "not in the vault yet (the GitLab seeder stores the deploy keys)"
        if source == "harbor-pull":
            return f"robot secret {key.partition(' ')[2]} not in the vault yet (invoke seed creates the Harbor robots)"
        if source.startswith("kubeconfig"):
            return f"no kubeconfig for environment {key}"
        return f"no certificate files for {key} in {self.pki_dir / 'certs'} (the internal CA phase issues them)"


def _refs(obj: dict[str, Any]) -> dict[str, str]:
    """An object's ``value-from`` references: field -> source."""
    annotations = obj.get("metadata", {}).get("annotations", {})
    return {
        k[len(names.VALUE_FROM_PREFIX) :]: v for k, v in annotations.items() if k.startswith(names.VALUE_FROM_PREFIX)
    }


class DryRunStore:
    """A store for check mode: reads the vault, keeps what would be written in memory only."""

    def __init__(self, vault: SecretStore) -> None:
        self._vault = vault
        self._pending: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self._pending.get(key, self._vault.get(key))

    def set(self, key: str, value: str) -> bool:
        if self.get(key) == value:
            return False
        self._pending[key] = value
        return True

    def get_or_create(self, key: str, generate: Callable[[], str]) -> tuple[str, bool]:
        value = self.get(key)
        if value is not None:
            return value, False
        self._pending[key] = generate()
        return self._pending[key], True


def cluster_credentials(kubeconfig: Path) -> tuple[str, str]:
    """(server URL, Argo CD cluster ``config`` JSON) from the current context of a kubeconfig."""
    try:
        data = yaml.safe_load(kubeconfig.read_text(encoding="utf-8")) or {}
        current = data.get("current-context") or data["contexts"][0]["name"]
        context = next(c["context"] for c in data["contexts"] if c["name"] == current)
        cluster = next(c["cluster"] for c in data["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in data.get("users", []) if u["name"] == context["user"])
    except (OSError, yaml.YAMLError, KeyError, IndexError, StopIteration, TypeError) as exc:
        raise InvalidInput(f"{kubeconfig}: (file): not a usable kubeconfig ({type(exc).__name__}: {exc})") from None
    if cluster.get("insecure-skip-tls-verify"):
        raise InvalidInput(
            f"{kubeconfig}: clusters[{context['cluster']}].insecure-skip-tls-verify: is true, Dockyard never "
            f"carries an unverified cluster into Argo CD (give certificate-authority-data instead)"
        )
    tls: dict[str, Any] = {"insecure": False}
    if cluster.get("certificate-authority-data"):
        tls["caData"] = cluster["certificate-authority-data"]
    if user.get("client-certificate-data"):
        tls["certData"] = user["client-certificate-data"]
    if user.get("client-key-data"):
        tls["keyData"] = user["client-key-data"]
    config: dict[str, Any] = {"tlsClientConfig": tls}
    if user.get("token"):
        config["bearerToken"] = user["token"]
    return str(cluster["server"]), json.dumps(config, sort_keys=True)

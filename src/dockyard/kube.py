"""Kubernetes adapter (the kubernetes Python client): reach a cluster through a kubeconfig, server-side
apply with Dockyard's field manager, list by label, delete. Nothing Dockyard-specific beyond that."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.problems import DockyardError

FIELD_MANAGER = "dockyard"
PROBE_TIMEOUT_S = 5


class KubeError(DockyardError):
    pass


class UnknownKind(KubeError):
    """The API server does not serve this kind (for Argo CD's: the CRDs are not installed yet)."""


def unreachable_reason(kubeconfig: Path, *, context: str = "", timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """Why the cluster of this kubeconfig cannot be used now (no kubeconfig yet, no answer), or None.

    A kubeconfig that cannot be read, or an API server that answers with an error (bad credentials),
    is a configuration problem: that raises KubeError instead.
    """
    if not kubeconfig.is_file():
        return f"no kubeconfig at {kubeconfig}{context}"
    from kubernetes import client  # noqa: PLC0415
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

    api_client = _api_client(kubeconfig)
    host = api_client.configuration.host
    try:
        with api_client:
            client.VersionApi(api_client).get_code(_request_timeout=timeout_s)
    except ApiException as exc:
        raise KubeError(
            f"{kubeconfig}: the API server {host} answered {exc.status} {exc.reason} "
            f"(check the kubeconfig's credentials)"
        ) from None
    except Exception as exc:  # any other failure to get an answer: not usable now, and why
        return f"the API server {host} does not answer ({_short(exc)})"
    return None


def _short(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _api_client(kubeconfig: Path) -> Any:
    import yaml  # noqa: PLC0415
    from kubernetes import config  # noqa: PLC0415
    from kubernetes.config.config_exception import ConfigException  # noqa: PLC0415

    try:
        return config.new_client_from_config(config_file=str(kubeconfig))
    except (ConfigException, OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise KubeError(f"{kubeconfig}: not a usable kubeconfig ({_short(exc)})") from None


@dataclass
class Cluster:
    """One cluster, through the dynamic client (discovery finds each kind's endpoint)."""

    _dynamic: Any
    host: str

    def _resource(self, api_version: str, kind: str) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError  # noqa: PLC0415

        try:
            return self._dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            raise UnknownKind(f"{self.host}: the API server does not serve {kind} ({api_version})") from None

    def get(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import NotFoundError  # noqa: PLC0415

        meta = obj["metadata"]
        resource = self._resource(obj["apiVersion"], obj["kind"])
        try:
            return _plain(self._dynamic.get(resource, name=meta["name"], namespace=meta.get("namespace")))
        except NotFoundError:
            return None

    def apply(self, obj: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
        """Server-side apply as field manager ``dockyard``, taking over fields others changed (force)."""
        meta = obj["metadata"]
        resource = self._resource(obj["apiVersion"], obj["kind"])
        extra = {"dry_run": "All"} if dry_run else {}
        result = self._call(
            self._dynamic.server_side_apply,
            resource,
            body=obj,
            name=meta["name"],
            namespace=meta.get("namespace"),
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
            **extra,
        )
        return _plain(result)

    def list(self, api_version: str, kind: str, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        resource = self._resource(api_version, kind)
        result = self._call(self._dynamic.get, resource, namespace=namespace, label_selector=label_selector)
        return [_plain(item) for item in (_plain(result).get("items") or [])]

    def delete(self, obj: dict[str, Any], *, dry_run: bool) -> None:
        meta = obj["metadata"]
        resource = self._resource(obj["apiVersion"], obj["kind"])
        extra = {"dry_run": "All"} if dry_run else {}
        self._call(self._dynamic.delete, resource, name=meta["name"], namespace=meta.get("namespace"), **extra)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.dynamic.exceptions import DynamicApiError  # noqa: PLC0415

        try:
            return fn(*args, **kwargs)
        except DynamicApiError as exc:
            raise KubeError(f"{self.host}: {exc.status} {_api_message(exc)}") from None


def _api_message(exc: Any) -> str:
    import json  # noqa: PLC0415

    try:
        return str(json.loads(exc.body).get("message", exc.reason))
    except (TypeError, ValueError, AttributeError):
        return str(getattr(exc, "reason", exc))


def _plain(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


@contextmanager
def connect(kubeconfig: Path) -> Iterator[Cluster]:
    """A cluster connection; the discovery cache lives only as long as the connection."""
    from kubernetes import dynamic  # noqa: PLC0415

    api_client = _api_client(kubeconfig)
    host = api_client.configuration.host
    with api_client, tempfile.TemporaryDirectory(prefix="dockyard-kube-") as cache:
        try:
            dyn = dynamic.DynamicClient(api_client, cache_file=str(Path(cache) / "discovery.json"))
        except Exception as exc:  # discovery failed: say where and why, without a traceback
            raise KubeError(f"{host}: API discovery failed ({_short(exc)})") from None
        yield Cluster(dyn, host)

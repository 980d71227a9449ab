"""The ``argocd`` phase for one environment, as the role's module runs it.

1. Which cluster: the environment's own (one-to-one), or the central one (``central`` layout).
2. If that cluster cannot be used now (no kubeconfig yet, API not answering), the phase is SKIPPED,
   saying why, and changes nothing.
3. Where an Argo CD runs in the environment's cluster: install or upgrade the chart (pyhelm3).
4. Apply the environment's objects (server-side apply) and prune the ones that left the spec.
5. In the environment's own cluster: its project namespaces with the ``harbor-pull`` image pull
   Secrets (from the vault), and in the build environment each project's build namespace and
   account, whose kubeconfig goes to the vault for that project's Jenkins folder
   (:mod:`dockyard.gitops.workload_objects`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard import catalogue, kube, secrets
from dockyard.gitops import apply, argocd_values, install, names, workload_objects
from dockyard.gitops.build import env_layout
from dockyard.gitops.secret_values import DryRunStore, Resolver, SecretStore
from dockyard.gitops.settings import ArgoSettings
from dockyard.inventory import InventoryTree
from dockyard.mirror import charts
from dockyard.problems import InvalidInput
from dockyard.seed import jenkins_config
from dockyard.seed import names as seed_names
from dockyard.spec.model import Platform
from dockyard.spec.validate import build

KUBECONFIG_HINT = " (the kubeadm phase writes it)"


@dataclass
class PhaseResult:
    env: str
    changed: bool = False
    skipped_reason: str = ""
    messages: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)
    waiting_on_seed: int = 0  # objects kept because invoke seed has not stored their credentials yet

    @property
    def skipped(self) -> bool:
        return bool(self.skipped_reason)


@dataclass(frozen=True)
class PhaseOptions:
    check: bool = False
    install_chart: bool = True
    chart_ref: str = ""
    helm: str = "helm"
    helm_timeout: str = "10m"
    api_timeout_s: float = kube.PROBE_TIMEOUT_S


def inventory_tree_of(source: Path) -> InventoryTree:
    """The inventory tree an ``-i`` source belongs to (``<tree>/<env>`` or ``<tree>/<env>/hosts.yml``)."""
    env_dir = source.parent if source.is_file() else source
    return InventoryTree(env_dir.parent)


def run(
    root: Path,
    spec: Mapping[str, Any],
    env: str,
    tree: InventoryTree,
    *,
    options: PhaseOptions,
    service_addresses: Mapping[str, str] | None = None,
) -> PhaseResult:
    platform = _platform(spec)
    if env not in platform.environments:
        raise InvalidInput(f"dockyard_environments: has no entry for environment '{env}' (run invoke validate)")
    result = PhaseResult(env)
    settings = ArgoSettings.from_spec(root, spec, platform, env)
    argocd_env = names.argocd_env(platform, env)
    target = settings.central_kubeconfig or settings.kubeconfig
    reason = kube.unreachable_reason(target, context=KUBECONFIG_HINT, timeout_s=options.api_timeout_s)
    if reason is None and argocd_env != env:
        # The central Argo CD reaches this environment's cluster with the credentials of its kubeconfig.
        reason = kube.unreachable_reason(settings.kubeconfig, context=KUBECONFIG_HINT, timeout_s=options.api_timeout_s)
    if reason:
        where = f" (its Argo CD runs in {argocd_env}'s cluster)" if argocd_env != env else ""
        result.skipped_reason = f"argocd: SKIPPED for env {env}{where}: {_relative(reason, root)}"
        return result

    vault = secrets.Vault.open(tree, env, settings.state_dir)
    store: SecretStore = DryRunStore(vault) if options.check else vault
    layout, _ = env_layout(root, spec, platform, env, store=store, service_addresses=service_addresses)
    result.notes += layout.notes

    if layout.values is not None and options.install_chart:
        chart_ref, version = _chart(platform, spec, options.chart_ref, settings)
        client = install.client_for(target, options.helm, options.helm_timeout)
        installed = install.install_chart(client, chart_ref, version, layout.values, dry_run=options.check)
        verb = {"install": "installed", "upgrade": "upgraded", "unchanged": "unchanged"}[installed.action]
        would = "would be " if options.check and installed.changed else ""
        result.messages.append(f"argocd: env {env}: chart argo-cd {version} {would}{verb}")
        result.changed |= installed.changed
        if installed.diff:
            result.diffs.append(installed.diff)

    with kube.connect(target) as cluster:
        installed_here = cluster.get(_namespace(names.ARGOCD_NAMESPACE)) is not None
        if not installed_here and argocd_env != env:
            result.skipped_reason = (
                f"argocd: SKIPPED for env {env}: Argo CD is not installed in {argocd_env}'s cluster yet "
                f"(run the argocd phase for env {argocd_env} first)"
            )
            return result
        if not installed_here and options.check:
            # Check mode on a new cluster: the chart would create the namespace, then every object.
            result.changed = True
            result.messages.append(
                f"argocd: env {env}: objects would be: {len(layout.objects)} created "
                f"(once the chart has created namespace {names.ARGOCD_NAMESPACE})"
            )
            return result
        resolver = Resolver(vault=store, kubeconfigs={env: settings.kubeconfig}, pki_dir=settings.pki_dir)
        report = apply.apply_env(cluster, layout.objects, env=env, resolver=resolver, dry_run=options.check)
    _report(result, "objects", report, options.check)
    _workload(platform, env, settings, store, options=options, result=result)
    return result


def _report(result: PhaseResult, what: str, report: apply.ApplyReport, check: bool) -> None:
    result.changed |= report.changed
    result.waiting_on_seed += report.waiting_on_seed
    prefix = "would be: " if check and report.changed else ""
    result.messages.append(f"argocd: env {result.env}: {what} {prefix}{report.summary()}")
    result.messages += [f"  {c.line()}" for c in report.changes if c.action not in ("unchanged",)]
    result.notes += report.notes
    result.diffs += [c.diff for c in report.changes if c.diff]


def _workload(
    platform: Platform,
    env: str,
    settings: ArgoSettings,
    store: SecretStore,
    *,
    options: PhaseOptions,
    result: PhaseResult,
) -> None:
    """Namespaces, image pull Secrets and build accounts in the environment's own cluster."""
    objects = workload_objects.pull_secret_objects(platform, env) + workload_objects.build_objects(platform, env)
    if not objects:
        return
    resolver = Resolver(
        vault=store, kubeconfigs={}, pki_dir=settings.pki_dir, registry=platform.tool_hostname("harbor")
    )
    with kube.connect(settings.kubeconfig) as own:
        report = apply.apply_objects(own, objects, resolver=resolver, dry_run=options.check)
        _report(result, "namespaces, pull secrets, build accounts", report, options.check)
        if env != platform.build_env or options.check:
            return
        server = jenkins_config.build_cluster(settings.kubeconfig.read_text(encoding="utf-8")).server
        accounts = [(platform.ci.build_namespace, "Jenkins' kubernetes cloud", seed_names.kubeconfig_key(env))]
        accounts += [
            (platform.ci.build_namespace_of(p.name), p.name, seed_names.project_kubeconfig_key(env, p.name))
            for p in platform.projects
        ]
        for namespace, whose, key in accounts:
            secret = own.get(workload_objects.token_secret_in(namespace)) or {}
            kubeconfig = workload_objects.project_kubeconfig(server, secret, namespace)
            if kubeconfig is None:
                result.notes.append(f"no token yet for the build account of {whose} ({namespace}): rerun")
            elif store.set(key, kubeconfig):
                result.changed = True
                result.messages.append(f"argocd: env {env}: build kubeconfig of {whose} -> vault {key}")


def _platform(spec: Mapping[str, Any]) -> Platform:
    try:
        return build(dict(spec))
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"platform spec: {exc} is missing or malformed (run invoke validate --env ENV)") from None


def _chart(platform: Platform, spec: Mapping[str, Any], override: str, settings: ArgoSettings) -> tuple[str, str]:
    cat = dict(spec.get("dockyard_catalogue") or {})
    version = argocd_values.chart_version(cat)
    if override:
        return override, version
    art = catalogue.artefact(cat, argocd_values.CHART_COMPONENT, argocd_values.CHART_ARTEFACT)
    source = catalogue.Source(
        airgap=platform.airgap, mirror_fqdn=platform.mirror_fqdn, mirror_registry=platform.mirror_registry
    )
    location = charts.helm_source(art, source, state_dir=settings.state_dir, ca_file=settings.internal_ca_cert)
    return location, version


def _namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _relative(text: str, root: Path) -> str:
    return text.replace(f"{root}/", "")

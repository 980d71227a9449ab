"""Seed the platform from the spec: GitLab, Harbor and Jenkins reconcilers with plan/apply.

Every reconciler reads the tool's current state in pages, compares it with what the spec wants,
writes only the difference and reports each object as create, update, delete or noop. Objects are
marked as Dockyard's when it creates them; only marked objects are ever deleted, and only with
``--prune``. Secrets live in the vault (:mod:`dockyard.secrets`) and are never printed: the
wiring (:mod:`dockyard.seed.wiring`) names each secret's source and consumers, never its value.

Modules: :mod:`~dockyard.seed.changes` (the report), :mod:`~dockyard.seed.access` (URL, token,
TLS of each tool), :mod:`~dockyard.seed.harbor`, :mod:`~dockyard.seed.gitlab`,
:mod:`~dockyard.seed.jenkins` (the reconcilers), :mod:`~dockyard.seed.service_template` (the
service repo template), :mod:`~dockyard.seed.run` (the order they run in) and
:mod:`~dockyard.seed.cli` (``invoke seed``).
"""

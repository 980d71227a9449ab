"""Preflight: check every host of an environment over SSH, in parallel, before changing anything."""

from dockyard.preflight.run import run

__all__ = ["run"]

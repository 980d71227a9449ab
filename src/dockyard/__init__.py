"""Dockyard: bootstrap and seed a self-hosted CI/CD platform on on-prem Linux hosts."""

__version__ = "0.1.0"

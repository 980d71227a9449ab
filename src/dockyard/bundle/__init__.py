"""The air-gap bundle: build it on a connected machine, carry it, verify it (format: manifest.py)."""

"""Real Debian 12 systemd hosts as containers on this machine: the `local` environment.

`invoke hosts up|down|status` manage them; `invoke bootstrap --env local` brings them up first.
"""

"""STAND-IN of Harbor's offline installer (tests only, never shipped): see build.py."""

"""The air-gap mirror: its credentials, its apt repository key, and loading a bundle into it."""

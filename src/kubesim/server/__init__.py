"""The kubesim API server (aiohttp): discovery, stored resources, reviews, faults, RBAC."""

from kubesim.server.app import build_app
from kubesim.server.state import STATE_KEY, ServerState

__all__ = ["STATE_KEY", "ServerState", "build_app"]

"""Core dumps across the cluster: koredump's API served by this service (docs/cores.md)."""

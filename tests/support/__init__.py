"""Helpers shared by the service's tests (fakes at our own boundaries)."""

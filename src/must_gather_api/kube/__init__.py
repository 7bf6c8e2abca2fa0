"""Reaching the Kubernetes API: configuration, clients, and translating its errors.

Only this package, the executors and the authenticator talk to the cluster; they get
their clients here so that TLS verification and timeouts are decided in one place.
"""

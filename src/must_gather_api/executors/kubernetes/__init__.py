"""The native executor: what ``oc adm must-gather`` does, on the Kubernetes API.

``executor`` holds the entry points (``KubernetesExecutor`` and ``remove_stale_namespaces``);
the other modules each hold one step of the gathering.
"""

from must_gather_api.executors.kubernetes.executor import KubernetesExecutor
from must_gather_api.executors.kubernetes.recovery import remove_stale_namespaces

__all__ = ["KubernetesExecutor", "remove_stale_namespaces"]

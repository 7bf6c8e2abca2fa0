"""The native executor: what ``oc adm must-gather`` does, on the Kubernetes API.

``executor`` holds the entry points (``KubernetesExecutor`` and ``remove_stale_namespaces``);
the other modules each hold one step of the gathering.

The entry points are imported when first asked for, not with the package: the copy worker
(``copy_worker``, a process of its own per pod copy) imports a few modules of this package
and would otherwise pay for the whole executor and the Kubernetes client at every start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from must_gather_api.executors.kubernetes.executor import KubernetesExecutor
    from must_gather_api.executors.kubernetes.recovery import remove_stale_namespaces

__all__ = ["KubernetesExecutor", "remove_stale_namespaces"]

_WHERE = {
    "KubernetesExecutor": "must_gather_api.executors.kubernetes.executor",
    "remove_stale_namespaces": "must_gather_api.executors.kubernetes.recovery",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

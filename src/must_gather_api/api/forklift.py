"""`GET /forklift/plans`: the Forklift Plans (and their VMs) the caller may list, for the
web page's targeted gathering picker. Listed with the caller's own token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from must_gather_api.api.deps import CallerDep, ServicesDep
from must_gather_api.kube import forklift

router = APIRouter(prefix="/forklift", tags=["forklift"])


@router.get("/plans", summary="The Forklift Plans and VMs the caller may list")
async def plans(caller: CallerDep, services: ServicesDep) -> dict[str, Any]:
    """`items`: `namespace`, `name` and `vms` (`name`, `id`) of each Plan the caller's token
    may list; `note` says in words why the list is empty or cut (no Forklift, not allowed)."""
    if services.access is None:
        return {"items": [], "note": "the service has no cluster to list Plans in"}
    found = await forklift.list_plans(
        services.access,
        token=caller.token or None,
        request_timeout=services.settings.cluster_request_timeout.total_seconds(),
    )
    return {
        "items": [
            {
                "namespace": plan.namespace,
                "name": plan.name,
                "vms": [{"name": vm.name, "id": vm.id} for vm in plan.vms],
            }
            for plan in found.items
        ],
        "note": found.note,
    }

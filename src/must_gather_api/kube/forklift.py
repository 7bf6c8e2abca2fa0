"""Forklift's migration Plans and their VMs, as a caller may list them: the choices the web
page offers for a targeted gathering (``PLAN=… NS=… /usr/bin/targeted``).

The list is made with the caller's own token, so a person sees exactly the Plans the
cluster lets them list; the service's identity is used only when the API has no callers'
tokens at all (AUTH=none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

from must_gather_api.kube import failures
from must_gather_api.kube.access import ClusterAccess

PLANS = "/apis/forklift.konveyor.io/v1beta1/plans"
_MOST = 500  # a page of Plans is plenty to pick from; more are cut, and the answer says so


@dataclass(frozen=True)
class VmChoice:
    name: str
    id: str


@dataclass(frozen=True)
class PlanChoice:
    namespace: str
    name: str
    vms: tuple[VmChoice, ...]


@dataclass(frozen=True)
class Plans:
    """What could be listed; ``note`` says why it is empty or cut, in words."""

    items: tuple[PlanChoice, ...] = ()
    note: str = ""


async def list_plans(access: ClusterAccess, *, token: str | None, request_timeout: float) -> Plans:
    """The Plans ``token`` may list in all namespaces, by namespace and name."""
    async with access.api_client(token=token) as api:
        try:
            found: dict[str, Any] = await api.call_api(
                PLANS,
                "GET",
                query_params=[("limit", str(_MOST))],
                header_params={"Accept": "application/json"},
                response_types_map={200: "object"},
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _request_timeout=request_timeout,
            )
        except ApiException as e:
            if e.status == 404:
                return Plans(note="this cluster serves no Forklift Plans")
            if e.status in (401, 403):
                return Plans(note="you may not list Forklift Plans in all namespaces")
            return Plans(note=f"the Plans could not be listed: {failures.describe(e)}")
        except failures.UNREACHABLE as e:
            return Plans(note=f"the Plans could not be listed: {failures.describe(e)}")
    items = tuple(
        sorted(
            (choice for choice in map(_choice, found.get("items") or []) if choice is not None),
            key=lambda plan: (plan.namespace, plan.name),
        )
    )
    cut = bool((found.get("metadata") or {}).get("continue"))
    return Plans(items, note=f"only the first {_MOST} Plans are shown" if cut else "")


def _choice(plan: Any) -> PlanChoice | None:
    if not isinstance(plan, dict):
        return None
    meta = plan.get("metadata") or {}
    vms = ((plan.get("spec") or {}).get("vms")) or []
    return PlanChoice(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        vms=tuple(
            VmChoice(name=str(vm.get("name") or ""), id=str(vm.get("id") or ""))
            for vm in vms
            if isinstance(vm, dict) and (vm.get("name") or vm.get("id"))
        ),
    )

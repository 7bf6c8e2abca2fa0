"""Strategic merge patch for the built-in kinds kubesim serves.

The rules follow k8s.io/apimachinery/pkg/util/strategicpatch/patch.go: maps merge key by key
and ``null`` deletes; a list merges by its patch merge key when the Go type declares one
(``patchStrategy:"merge"``, e.g. containers by name) and is replaced otherwise; primitive
lists with the merge strategy (finalizers) become unions. Directives: ``$patch``
(``replace``, ``delete``, ``merge``) in maps and list elements, ``$setElementOrder/<list>``,
``$deleteFromPrimitiveList/<list>`` and ``$retainKeys``. The merge keys below are the
``patchMergeKey`` tags of k8s.io/api core/v1 and apps/v1 for the fields kubesim's kinds have.
"""

from __future__ import annotations

import copy
from typing import Any

from kubesim.errors import BadRequest

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_ORDER_PREFIX = "$setElementOrder/"
_DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"

# Lists of objects merged by a key, by field name.
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "conditions": "type",
    "addresses": "type",
    "ownerReferences": "uid",
    "resourceClaims": "name",
}
# ``ports`` merge by containerPort in a container, by port in a service's spec.
_PORT_KEYS = ("containerPort", "port")
# Lists of primitives merged as sets.
_PRIMITIVE_MERGE = {"finalizers"}


def _merge_key(field: str, original: list[Any], patch: list[Any]) -> str | None:
    if field == "ports":
        for item in [*patch, *original]:
            if isinstance(item, dict):
                for key in _PORT_KEYS:
                    if key in item:
                        return key
        return None
    return _MERGE_KEYS.get(field)


def strategic_merge(original: Any, patch: Any) -> Any:
    """The original with the strategic merge patch applied (neither is changed)."""
    if not isinstance(patch, dict):
        raise BadRequest("a strategic merge patch must be a JSON object")
    return _merge_map(original if isinstance(original, dict) else {}, patch)


def _merge_map(original: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any] | None:
    directive = patch.get(_DIRECTIVE)
    if directive == "delete":
        return None
    body = {k: v for k, v in patch.items() if k != _DIRECTIVE}
    if directive == "replace":
        return _strip_map(body)
    if directive not in (None, "merge"):
        raise BadRequest(f"unknown patch type: {directive!r}")
    result = copy.deepcopy(original)
    retain = body.pop(_RETAIN_KEYS, None)
    orders: dict[str, list[Any]] = {}
    for key in [k for k in body if k.startswith(_ORDER_PREFIX)]:
        orders[key.removeprefix(_ORDER_PREFIX)] = body.pop(key)
    for key in [k for k in body if k.startswith(_DELETE_PRIMITIVE_PREFIX)]:
        field = key.removeprefix(_DELETE_PRIMITIVE_PREFIX)
        doomed = body.pop(key) or []
        if isinstance(result.get(field), list):
            result[field] = [v for v in result[field] if v not in doomed]
    for key, value in body.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(result.get(key) or {}, value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key) or [], value)
        else:
            result[key] = copy.deepcopy(value)
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _ordered(field, result[field], order)
    if retain is not None:
        keep = set(retain)
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _merge_list(field: str, original: list[Any], patch: list[Any]) -> list[Any]:
    if any(isinstance(p, dict) and p.get(_DIRECTIVE) == "replace" for p in patch):
        return _strip_list([p for p in patch if not (isinstance(p, dict) and _DIRECTIVE in p)])
    if field in _PRIMITIVE_MERGE:
        union = list(original)
        union += [copy.deepcopy(v) for v in patch if v not in union]
        return union
    key = _merge_key(field, original, patch)
    if key is None:
        return _strip_list(patch)
    result = copy.deepcopy(original)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise BadRequest(f"map: {item!r} does not contain declared merge key: {key}")
        at = next(
            (i for i, o in enumerate(result) if isinstance(o, dict) and o.get(key) == item[key]),
            None,
        )
        if item.get(_DIRECTIVE) == "delete":
            if at is not None:
                del result[at]
            continue
        if at is None:
            result.append(_strip_map(item))
        else:
            merged = _merge_map(result[at], item)
            if merged is not None:
                result[at] = merged
    return result


def _ordered(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    """Items in ``$setElementOrder``'s order; those it does not name keep their places after."""
    key = _merge_key(field, items, order)

    def identity(item: Any) -> Any:
        return item.get(key) if key is not None and isinstance(item, dict) else item

    wanted = [identity(o) for o in order]
    ranked = [i for i in items if identity(i) in wanted]
    ranked.sort(key=lambda i: wanted.index(identity(i)))
    return ranked + [i for i in items if identity(i) not in wanted]


def _strip(value: Any) -> Any:
    """A patch value stored as is: without directives, and without nulls in its maps."""
    if isinstance(value, dict):
        return _strip_map(value)
    if isinstance(value, list):
        return _strip_list(value)
    return copy.deepcopy(value)


def _strip_map(value: dict[str, Any]) -> dict[str, Any]:
    return {k: _strip(v) for k, v in value.items() if not k.startswith("$") and v is not None}


def _strip_list(value: list[Any]) -> list[Any]:
    return [_strip(v) for v in value]

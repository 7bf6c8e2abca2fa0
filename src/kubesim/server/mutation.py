"""Patches (JSON merge, strategic merge, JSON patch) and create-time defaults."""

from __future__ import annotations

import copy
from typing import Any

from kubesim.errors import BadRequest, Invalid, UnsupportedMediaType
from kubesim.kinds import Kind, is_custom_resource
from kubesim.server.strategic import strategic_merge

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise Invalid(f"json patch path {path!r} must start with /")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, tokens: list[str]) -> tuple[Any, str]:
    current = doc
    for token in tokens[:-1]:
        if isinstance(current, list):
            current = current[int(token)]
        elif isinstance(current, dict):
            current = current[token]
        else:
            raise KeyError(token)
    return current, tokens[-1]


def _get(doc: Any, tokens: list[str]) -> Any:
    current = doc
    for token in tokens:
        current = current[int(token)] if isinstance(current, list) else current[token]
    return current


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent, last = _parent(doc, tokens)
    if isinstance(parent, list):
        parent.insert(len(parent) if last == "-" else int(last), value)
    else:
        parent[last] = value
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    parent, last = _parent(doc, tokens)
    removed = parent.pop(int(last)) if isinstance(parent, list) else parent.pop(last)
    return removed


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902 add/remove/replace/move/copy/test."""
    if not isinstance(ops, list):
        raise BadRequest("a json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        try:
            kind = op["op"]
            tokens = _pointer(op["path"])
            if kind == "add":
                doc = _add(doc, tokens, copy.deepcopy(op["value"]))
            elif kind == "remove":
                _remove(doc, tokens)
            elif kind == "replace":
                _get(doc, tokens)  # must exist
                if tokens:
                    _remove(doc, tokens)
                doc = _add(doc, tokens, copy.deepcopy(op["value"]))
            elif kind in ("move", "copy"):
                source = _pointer(op["from"])
                value = _get(doc, source)
                if kind == "move":
                    _remove(doc, source)
                doc = _add(doc, tokens, copy.deepcopy(value))
            elif kind == "test":
                if _get(doc, tokens) != op["value"]:
                    raise Invalid(f"json patch test failed at {op['path']!r}")
            else:
                raise BadRequest(f"unknown json patch operation {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise Invalid(f"the json patch could not be applied: {op!r}: {e!r}") from e
    return doc


def apply_patch(
    kind: Kind, content_type: str, target: dict[str, Any], patch: Any
) -> dict[str, Any]:
    media = content_type.split(";")[0].strip().lower()
    if media == STRATEGIC_PATCH and is_custom_resource(kind):
        raise UnsupportedMediaType(
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}"
        )
    if media == STRATEGIC_PATCH:
        result = strategic_merge(target, patch)
    elif media == MERGE_PATCH:
        result = merge_patch(target, patch)
    elif media == JSON_PATCH:
        result = json_patch(target, patch)
    else:
        raise UnsupportedMediaType(f"the body of the request was in an unknown format - {media}")
    if not isinstance(result, dict):
        raise Invalid("the patched object is not an object")
    return result


def default_pod(pod: dict[str, Any]) -> None:
    """The defaults kube-apiserver fills into a new pod, so clients read what they expect."""
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = account
    spec["serviceAccount"] = account
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if not isinstance(c, dict):
            continue
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        image = str(c.get("image", ""))
        latest = image.endswith(":latest") or (
            ":" not in image.rsplit("/", 1)[-1] and "@" not in image
        )
        c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
    status = pod.setdefault("status", {})
    status.setdefault("phase", "Pending")
    status.setdefault("qosClass", "BestEffort")

"""Validation of objects on create and update: names, labels, and the basics of a pod
spec."""

from __future__ import annotations

import re
from typing import Any

from kubesim import kinds
from kubesim.errors import Invalid
from kubesim.kinds import Kind

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
# Kinds whose names must be DNS labels (the rest take DNS subdomains); RBAC names are free-form.
_LABEL_NAMED = {kinds.NAMESPACES, kinds.SERVICES}
_FREE_NAMED = {kinds.CLUSTER_ROLES, kinds.CLUSTER_ROLE_BINDINGS, kinds.ROLES, kinds.ROLE_BINDINGS}


def validate(kind: Kind, obj: dict[str, Any]) -> None:
    """Raises Invalid, with one cause per problem, as kube-apiserver reports them."""
    name = obj["metadata"].get("name") or ""
    causes: list[dict[str, str]] = []
    if not name:
        causes.append(
            {
                "reason": "FieldValueRequired",
                "message": "Required value: name or generateName is required",
                "field": "metadata.name",
            }
        )
    elif kind not in _FREE_NAMED:
        pattern = _DNS_LABEL if kind in _LABEL_NAMED else _DNS_SUBDOMAIN
        limit = 63 if kind in _LABEL_NAMED else 253
        if not pattern.match(name) or len(name) > limit:
            causes.append(
                {
                    "reason": "FieldValueInvalid",
                    "message": f'Invalid value: "{name}": a lowercase RFC 1123 '
                    f"{'label' if kind in _LABEL_NAMED else 'subdomain'} must consist of lower "
                    "case alphanumeric characters, '-' or '.', and must start and end with an "
                    "alphanumeric character",
                    "field": "metadata.name",
                }
            )
    causes.extend(_label_causes(obj["metadata"].get("labels")))
    if kind == kinds.PODS:
        causes.extend(_pod_causes(obj))
    if causes:
        detail = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
        raise Invalid(
            f'{kind.kind} "{name}" is invalid: {detail}',
            kind=kind.kind,
            name=name,
            group=kind.group,
            causes=causes,
        )


def _label_causes(labels: Any) -> list[dict[str, str]]:
    """apimachinery's ValidateLabels: each key a qualified name, each value a label value."""
    if not isinstance(labels, dict):
        return []
    causes: list[dict[str, str]] = []
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if (
            not _LABEL_VALUE.match(name)
            or not name
            or len(name) > 63
            or (prefix and (not _DNS_SUBDOMAIN.match(prefix) or len(prefix) > 253))
        ):
            causes.append(
                {
                    "reason": "FieldValueInvalid",
                    "message": f'Invalid value: "{key}": name part must consist of alphanumeric '
                    "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                    "character",
                    "field": "metadata.labels",
                }
            )
        elif not isinstance(value, str) or not _LABEL_VALUE.match(value) or len(value) > 63:
            causes.append(
                {
                    "reason": "FieldValueInvalid",
                    "message": f'Invalid value: "{value}": {_LABEL_VALUE_RULE}',
                    "field": "metadata.labels",
                }
            )
    return causes


def _pod_causes(pod: dict[str, Any]) -> list[dict[str, str]]:
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec"}]
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return [
            {
                "reason": "FieldValueRequired",
                "message": "Required value",
                "field": "spec.containers",
            }
        ]
    causes: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, c in enumerate(containers + (spec.get("initContainers") or [])):
        cname = c.get("name") if isinstance(c, dict) else None
        where = f"spec.containers[{i}]"
        if not cname or not _DNS_LABEL.match(cname):
            causes.append(
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value",
                    "field": f"{where}.name",
                }
            )
        elif cname in seen:
            causes.append(
                {
                    "reason": "FieldValueDuplicate",
                    "message": f'Duplicate value: "{cname}"',
                    "field": f"{where}.name",
                }
            )
        seen.add(cname or "")
        if isinstance(c, dict) and not c.get("image"):
            causes.append(
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value",
                    "field": f"{where}.image",
                }
            )
    return causes

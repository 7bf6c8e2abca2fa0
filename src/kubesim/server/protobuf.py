"""Just enough Kubernetes protobuf decoding for the bodies kubectl's typed clients send.

kubectl posts protobuf (``application/vnd.kubernetes.protobuf``) for built-in types it builds
itself: ``auth can-i`` (SelfSubjectAccessReview), ``auth whoami``, ``create namespace``,
``create configmap/secret/serviceaccount/clusterrolebinding``. Each body is the ``k8s\\0``
magic, then a ``runtime.Unknown`` envelope holding the object's own encoding. Field numbers
come from the upstream ``generated.proto`` files; unknown fields are skipped.
"""

from __future__ import annotations

import base64
from typing import Any, Union

from kubesim.errors import BadRequest, UnsupportedMediaType

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"

# A field is (json name, type); a type is "string", "bytes", "bool", "int", a nested schema,
# ("repeated", type) or ("map", value type).
FieldType = Union[str, "Schema", tuple[str, Any]]
Schema = dict[int, tuple[str, FieldType]]

_OWNER_REFERENCE: Schema = {
    1: ("kind", "string"),
    3: ("name", "string"),
    4: ("uid", "string"),
    5: ("apiVersion", "string"),
    6: ("controller", "bool"),
    7: ("blockOwnerDeletion", "bool"),
}
_OBJECT_META: Schema = {
    1: ("name", "string"),
    2: ("generateName", "string"),
    3: ("namespace", "string"),
    5: ("uid", "string"),
    6: ("resourceVersion", "string"),
    11: ("labels", ("map", "string")),
    12: ("annotations", ("map", "string")),
    13: ("ownerReferences", ("repeated", _OWNER_REFERENCE)),
    14: ("finalizers", ("repeated", "string")),
}
_RESOURCE_ATTRIBUTES: Schema = {
    1: ("namespace", "string"),
    2: ("verb", "string"),
    3: ("group", "string"),
    4: ("version", "string"),
    5: ("resource", "string"),
    6: ("subresource", "string"),
    7: ("name", "string"),
}
_NON_RESOURCE_ATTRIBUTES: Schema = {1: ("path", "string"), 2: ("verb", "string")}
_SUBJECT: Schema = {
    1: ("kind", "string"),
    2: ("apiGroup", "string"),
    3: ("name", "string"),
    4: ("namespace", "string"),
}
_ROLE_REF: Schema = {1: ("apiGroup", "string"), 2: ("kind", "string"), 3: ("name", "string")}
_BINDING: Schema = {
    1: ("metadata", _OBJECT_META),
    2: ("subjects", ("repeated", _SUBJECT)),
    3: ("roleRef", _ROLE_REF),
}

SCHEMAS: dict[str, Schema] = {
    "SelfSubjectAccessReview": {
        1: ("metadata", _OBJECT_META),
        2: (
            "spec",
            {
                1: ("resourceAttributes", _RESOURCE_ATTRIBUTES),
                2: ("nonResourceAttributes", _NON_RESOURCE_ATTRIBUTES),
            },
        ),
    },
    "SubjectAccessReview": {
        1: ("metadata", _OBJECT_META),
        2: (
            "spec",
            {
                1: ("resourceAttributes", _RESOURCE_ATTRIBUTES),
                2: ("nonResourceAttributes", _NON_RESOURCE_ATTRIBUTES),
                3: ("user", "string"),
                4: ("groups", ("repeated", "string")),
                6: ("uid", "string"),
            },
        ),
    },
    "TokenReview": {
        1: ("metadata", _OBJECT_META),
        2: ("spec", {1: ("token", "string"), 2: ("audiences", ("repeated", "string"))}),
    },
    "SelfSubjectReview": {1: ("metadata", _OBJECT_META)},
    "SelfSubjectRulesReview": {
        1: ("metadata", _OBJECT_META),
        2: ("spec", {1: ("namespace", "string")}),
    },
    "Namespace": {
        1: ("metadata", _OBJECT_META),
        2: ("spec", {1: ("finalizers", ("repeated", "string"))}),
    },
    "ServiceAccount": {1: ("metadata", _OBJECT_META), 4: ("automountServiceAccountToken", "bool")},
    "ConfigMap": {
        1: ("metadata", _OBJECT_META),
        2: ("data", ("map", "string")),
        3: ("binaryData", ("map", "bytes")),
        4: ("immutable", "bool"),
    },
    "Secret": {
        1: ("metadata", _OBJECT_META),
        2: ("data", ("map", "bytes")),
        3: ("type", "string"),
        4: ("stringData", ("map", "string")),
        5: ("immutable", "bool"),
    },
    "ClusterRoleBinding": _BINDING,
    "RoleBinding": _BINDING,
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise BadRequest("truncated protobuf varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) triples; length-delimited values stay bytes."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise BadRequest(f"unsupported protobuf wire type {wire}")
        out.append((number, wire, value))
    return out


def _scalar(kind: str, value: Any) -> Any:
    if kind == "string":
        return bytes(value).decode()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode()  # JSON carries bytes as base64
    if kind == "bool":
        return bool(value)
    return int(value)


def _message(data: bytes, schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, _, value in _fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if isinstance(kind, dict):
            out[name] = _message(value, kind)
        elif isinstance(kind, tuple) and kind[0] == "repeated":
            inner = kind[1]
            item = _message(value, inner) if isinstance(inner, dict) else _scalar(inner, value)
            out.setdefault(name, []).append(item)
        elif isinstance(kind, tuple) and kind[0] == "map":
            entry = {n: v for n, _, v in _fields(value)}
            key = bytes(entry.get(1, b"")).decode()
            out.setdefault(name, {})[key] = _scalar(kind[1], entry.get(2, b""))
        else:
            scalar = _scalar(str(kind), value)
            if scalar not in ("", 0, False):  # proto3 zero values mean "unset"
                out[name] = scalar
    return {k: v for k, v in out.items() if v != {}}


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object; 415 for a type kubesim cannot read."""
    if not body.startswith(_MAGIC):
        raise BadRequest("the protobuf body lacks the k8s magic prefix")
    envelope = {n: v for n, _, v in _fields(body[len(_MAGIC) :])}
    type_meta = {n: bytes(v).decode() for n, _, v in _fields(envelope.get(1, b""))}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise UnsupportedMediaType(f"kubesim cannot read {kind or 'this object'} as protobuf")
    obj = _message(envelope.get(2, b""), schema)
    return {"apiVersion": api_version, "kind": kind, **obj}

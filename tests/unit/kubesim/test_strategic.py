"""Strategic merge patch rules beyond what the contract tests drive through a client."""

from __future__ import annotations

import pytest

from kubesim import kinds
from kubesim.errors import BadRequest, UnsupportedMediaType
from kubesim.server.mutation import MERGE_PATCH, STRATEGIC_PATCH, apply_patch
from kubesim.server.strategic import strategic_merge


def test_primitive_sets_and_their_delete_directive() -> None:
    original = {"metadata": {"finalizers": ["a", "b"]}, "spec": {"args": ["x", "y"]}}
    patched = strategic_merge(
        original,
        {
            "metadata": {"finalizers": ["c", "a"], "$deleteFromPrimitiveList/finalizers": ["b"]},
            "spec": {"args": ["z"]},
        },
    )
    assert patched == {"metadata": {"finalizers": ["a", "c"]}, "spec": {"args": ["z"]}}
    assert original["metadata"]["finalizers"] == ["a", "b"]  # the original is untouched


def test_service_ports_merge_by_port_and_a_list_can_be_replaced() -> None:
    original = {"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443}]}}
    merged = strategic_merge(original, {"spec": {"ports": [{"port": 80, "targetPort": 8080}]}})
    assert merged["spec"]["ports"] == [
        {"port": 80, "name": "http", "targetPort": 8080},
        {"port": 443},
    ]
    replaced = strategic_merge(
        original, {"spec": {"ports": [{"$patch": "replace"}, {"port": 8443, "name": None}]}}
    )
    assert replaced["spec"]["ports"] == [{"port": 8443}]


def test_a_merge_list_element_without_its_key_is_refused() -> None:
    with pytest.raises(BadRequest, match="merge key: name"):
        strategic_merge({"spec": {"containers": []}}, {"spec": {"containers": [{"image": "x"}]}})


def test_nested_map_delete_and_null() -> None:
    original = {"spec": {"selector": {"a": "1"}, "template": {"x": 1, "y": 2}}}
    patched = strategic_merge(
        original, {"spec": {"selector": {"$patch": "delete"}, "template": {"y": None}}}
    )
    assert patched == {"spec": {"template": {"x": 1}}}


def test_custom_resources_refuse_strategic_merge_but_take_merge_patch() -> None:
    plan = {"metadata": {"name": "p"}, "spec": {"vms": [{"id": "1"}]}}
    with pytest.raises(UnsupportedMediaType):
        apply_patch(kinds.PLANS, STRATEGIC_PATCH, plan, {"spec": {}})
    patched = apply_patch(kinds.PLANS, MERGE_PATCH, plan, {"spec": {"vms": []}})
    assert patched["spec"]["vms"] == []

"""Label and field selector parsing and matching."""

from __future__ import annotations

import pytest

from kubesim.errors import BadRequest
from kubesim.selectors import field_matcher, field_value, label_matcher, parse_label_selector

OBJ = {
    "metadata": {"name": "n", "namespace": "ns", "labels": {"app": "web", "tier": "front"}},
    "spec": {"nodeName": "worker-1"},
    "involvedObject": {"kind": "Pod", "name": "p"},
}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=db", False),
        ("app!=db", True),
        ("missing!=x", True),
        ("app in (web, db)", True),
        ("app notin (web)", False),
        ("tier", True),
        ("!tier", False),
        ("!missing", True),
        ("app=web,tier=back", False),
        ("example.com/key=v", False),
    ],
)
def test_label_selectors(selector: str, matches: bool) -> None:
    assert label_matcher(selector)(OBJ) is matches


@pytest.mark.parametrize("selector", ["app in (web", "=x", "app=a b", "a=b=c"])
def test_bad_label_selectors(selector: str) -> None:
    with pytest.raises(BadRequest):
        parse_label_selector(selector)


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("metadata.name=n", True),
        ("metadata.namespace==ns", True),
        ("spec.nodeName!=worker-1", False),
        ("involvedObject.kind=Pod,involvedObject.name=p", True),
        ("status.phase=", True),
        ("status.phase=Running", False),
    ],
)
def test_field_selectors(selector: str, matches: bool) -> None:
    assert field_matcher(selector)(OBJ) is matches


def test_field_value_of_missing_and_bool_fields() -> None:
    assert field_value({"a": {"b": True}}, "a.b") == "true"
    assert field_value({"a": 1}, "a.b") == ""


def test_bad_field_selector() -> None:
    with pytest.raises(BadRequest):
        field_matcher("nonsense")

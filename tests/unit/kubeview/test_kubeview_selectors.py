from __future__ import annotations

import pytest

from must_gather_api.kubeview import selectors

POD = {
    "metadata": {"name": "web", "namespace": "app", "labels": {"app": "web", "tier": "front"}},
    "spec": {"nodeName": "worker-0", "hostNetwork": False},
    "status": {"phase": "Running"},
}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web,tier=front", True),
        ("app!=web", False),
        ("app in (web, api)", True),
        ("app notin (web)", False),
        ("missing notin (x)", True),
        ("tier", True),
        ("!tier", False),
        ("app=web,tier in (back)", False),
    ],
)
def test_label_selectors(selector: str, matches: bool) -> None:
    assert selectors.label_selector(selector)(POD) is matches


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("metadata.name=web", True),
        ("metadata.namespace!=app", False),
        ("spec.nodeName=worker-0,status.phase=Running", True),
        ("spec.hostNetwork=false", True),
        ("spec.nodeName=", False),
    ],
)
def test_field_selectors(selector: str, matches: bool) -> None:
    assert selectors.field_selector(selector)(POD) is matches


def test_bad_selectors() -> None:
    with pytest.raises(selectors.BadSelector):
        selectors.label_selector("app in web)")
    with pytest.raises(selectors.BadSelector):
        selectors.field_selector("spec.nodeName")

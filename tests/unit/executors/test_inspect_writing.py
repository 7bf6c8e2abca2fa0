"""The fallback inspect masks secrets and routes as oc does (pkg/cli/admin/inspect/secret.go
and route.go at openshift/oc 6b8e30c5b39aa742147846341a203905e04834f3)."""

from __future__ import annotations

import base64
from typing import Any

from must_gather_api.executors.kubernetes import inspect_discovery as discovery
from must_gather_api.executors.kubernetes.inspect_writing import as_list, mask_route, mask_secret


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_secret_keeps_its_certificates_and_loses_its_values() -> None:
    secret: dict[str, Any] = {
        "metadata": {
            "name": "s",
            "annotations": {"openshift.io/token-secret.value": "tok", "other": "kept"},
        },
        "data": {"password": b64("hunter22"), "tls.crt": b64("CERT")},
        "stringData": {"x": "y"},
    }
    masked = mask_secret(secret)
    # oc sets the []byte value to the text, so the file holds it base64-encoded.
    assert masked["data"] == {"password": b64("8 bytes long"), "tls.crt": b64("CERT")}
    assert "stringData" not in masked
    assert masked["metadata"]["annotations"] == {
        "openshift.io/token-secret.value": "",
        "other": "kept",
    }
    assert secret["data"]["password"] == b64("hunter22")


def test_a_route_loses_its_key_only() -> None:
    route = {"spec": {"host": "h", "tls": {"key": "PRIVATE", "certificate": "CERT"}}}
    assert mask_route(route)["spec"] == {"host": "h", "tls": {"key": "", "certificate": "CERT"}}
    assert mask_route({"spec": {"host": "h"}}) == {"spec": {"host": "h"}}


def test_a_list_types_and_masks_its_items() -> None:
    listed: dict[str, Any] = {
        "kind": "SecretList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "7"},
    }
    listed["items"] = [{"metadata": {"name": "a"}, "data": {"k": b64("abc")}}]
    written = as_list(listed, group="", resource="secrets", api_version="v1", kind="Secret")
    assert written["kind"] == "SecretList"
    [item] = written["items"]
    assert (item["apiVersion"], item["kind"]) == ("v1", "Secret")
    assert item["data"] == {"k": b64("3 bytes long")}


def test_discovery_keeps_the_preferred_version_and_the_all_category() -> None:
    document = {
        "items": [
            {
                "metadata": {"name": "apps"},
                "versions": [
                    {
                        "version": "v1",
                        "resources": [
                            {
                                "resource": "deployments",
                                "responseKind": {"kind": "Deployment"},
                                "scope": "Namespaced",
                                "verbs": ["get", "list"],
                                "categories": ["all"],
                            }
                        ],
                    },
                    {"version": "v1beta1", "resources": [{"resource": "deployments"}]},
                ],
            }
        ]
    }
    served = discovery.ServedResources(discovery.parse([document]))
    [deployments] = served.category("all")
    assert (deployments.version, deployments.kind, deployments.folder) == (
        "v1",
        "Deployment",
        "apps",
    )
    assert served.named("apps", "deployments") == deployments
    assert served.listable_in_groups("config.openshift.io") == []


def test_legacy_discovery_gives_the_same_served_types() -> None:
    group_list = {
        "kind": "APIGroupList",
        "groups": [{"name": "apps", "preferredVersion": {"groupVersion": "apps/v1"}}],
    }
    assert discovery.legacy_paths(group_list) == ["/api/v1", "/apis/apps/v1"]
    lists = [
        {
            "groupVersion": "v1",
            "resources": [
                {"name": "pods", "kind": "Pod", "namespaced": True, "verbs": ["list"]},
                {"name": "pods/log", "kind": "Pod", "namespaced": True, "verbs": ["get"]},
            ],
        },
        {
            "groupVersion": "apps/v1",
            "resources": [
                {
                    "name": "deployments",
                    "kind": "Deployment",
                    "namespaced": True,
                    "verbs": ["list"],
                    "categories": ["all"],
                }
            ],
        },
    ]
    served = discovery.ServedResources(discovery.parse_legacy(lists))
    assert [(s.group, s.version, s.resource) for s in served.all] == [
        ("", "v1", "pods"),
        ("apps", "v1", "deployments"),
    ]
    assert [s.resource for s in served.category("all")] == ["deployments"]

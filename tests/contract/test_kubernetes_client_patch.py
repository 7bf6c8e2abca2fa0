"""The official ``kubernetes`` client's patches (strategic merge by default), server-side apply
and response headers against kubesim, as a real API server answers them."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from contract.official import APPLY, call, raw

pytestmark = pytest.mark.timeout(60)


def _deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "busybox:1.36",
                            "command": ["sleep", "300"],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 80, "name": "http"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        },
                        {"name": "sidecar", "image": "busybox:1.36", "command": ["sleep", "1"]},
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                },
            },
        },
    }


@pytest.mark.asyncio
async def test_strategic_merge_patch_merges_lists_by_their_keys(official: client.ApiClient) -> None:
    apps = client.AppsV1Api(official)
    await call(apps.create_namespaced_deployment, "default", _deployment())
    patch = {
        "metadata": {"labels": {"tier": None}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "busybox:1.37",
                            "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                            "ports": [{"containerPort": 8080}],
                            "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                        }
                    ],
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                }
            }
        },
    }
    # A dict body is sent as application/strategic-merge-patch+json, the client's default.
    patched = await call(apps.patch_namespaced_deployment, "web", "default", patch)
    assert patched.metadata.labels == {"app": "web"}
    spec = patched.spec.template.spec
    assert [c.name for c in spec.containers] == ["main", "sidecar"]
    main = spec.containers[0]
    assert main.image == "busybox:1.37" and main.command == ["sleep", "300"]
    assert [(e.name, e.value) for e in main.env] == [("A", "1"), ("B", "3"), ("C", "4")]
    assert sorted(p.container_port for p in main.ports) == [80, 8080]
    assert sorted(m.mount_path for m in main.volume_mounts) == ["/cache", "/data"]
    assert sorted(v.name for v in spec.volumes) == ["cache", "data"]


@pytest.mark.asyncio
async def test_strategic_merge_patch_directives(official: client.ApiClient) -> None:
    apps = client.AppsV1Api(official)
    await call(apps.create_namespaced_deployment, "default", _deployment())
    delete_sidecar = {
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}
    }
    patched = await call(apps.patch_namespaced_deployment, "web", "default", delete_sidecar)
    assert [c.name for c in patched.spec.template.spec.containers] == ["main"]
    # $setElementOrder orders the merged list; $deleteFromPrimitiveList removes from a set.
    reorder = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "extra"}, {"name": "main"}],
                    "containers": [{"name": "extra", "image": "busybox:1.36"}],
                }
            }
        }
    }
    patched = await call(apps.patch_namespaced_deployment, "web", "default", reorder)
    assert [c.name for c in patched.spec.template.spec.containers] == ["extra", "main"]
    # $retainKeys drops the keys it does not name (a strategy switched to Recreate).
    recreate = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    patched = await call(apps.patch_namespaced_deployment, "web", "default", recreate)
    assert patched.spec.strategy.type == "Recreate"
    assert patched.spec.strategy.rolling_update is None
    # $patch: replace replaces a map (or list) whole.
    replace = {"metadata": {"labels": {"$patch": "replace", "only": "this"}}}
    patched = await call(apps.patch_namespaced_deployment, "web", "default", replace)
    assert patched.metadata.labels == {"only": "this"}


@pytest.mark.asyncio
async def test_merge_patch_still_replaces_lists(official: client.ApiClient) -> None:
    apps = client.AppsV1Api(official)
    await call(apps.create_namespaced_deployment, "default", _deployment())
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "busybox"}]}}}}
    patched = await call(
        apps.patch_namespaced_deployment,
        "web",
        "default",
        patch,
        _content_type="application/merge-patch+json",
    )
    assert [c.name for c in patched.spec.template.spec.containers] == ["x"]


@pytest.mark.asyncio
async def test_server_side_apply_creates_then_updates(official: client.ApiClient) -> None:
    core = client.CoreV1Api(official)
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied", "namespace": "default"},
        "data": {"a": "1"},
    }
    code, _, created = await raw(
        core.patch_namespaced_config_map,
        "applied",
        "default",
        body,
        field_manager="contract",
        _content_type=APPLY,
    )
    assert code == 201 and created["data"] == {"a": "1"}
    body["data"] = {"a": "2", "b": "3"}
    code, _, updated = await raw(
        core.patch_namespaced_config_map,
        "applied",
        "default",
        body,
        field_manager="contract",
        _content_type=APPLY,
    )
    assert code == 200 and updated["data"] == {"a": "2", "b": "3"}
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    # Without a fieldManager a real server refuses an apply: PatchOptions are Invalid.
    with pytest.raises(ApiException) as caught:
        await call(
            core.patch_namespaced_config_map, "applied", "default", body, _content_type=APPLY
        )
    assert caught.value.status == 422


@pytest.mark.asyncio
async def test_responses_carry_audit_id_and_cache_control(official: client.ApiClient) -> None:
    core = client.CoreV1Api(official)
    ids = set()
    for _ in range(2):
        code, headers, _ = await raw(core.list_namespace)
        assert code == 200
        assert headers["Cache-Control"] == "no-cache, private"
        ids.add(headers["Audit-Id"])
    assert len(ids) == 2
    with pytest.raises(ApiException) as caught:
        await call(core.read_namespace, "nope")
    assert caught.value.headers is not None and caught.value.headers["Audit-Id"]

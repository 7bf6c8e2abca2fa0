"""The real kubectl against kubesim's API server, over TLS with bearer tokens."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import pytest_asyncio

from kubesim import kinds
from kubesim.auth import USER_TOKEN
from kubesim.cluster import Cluster
from kubesim.pytest_plugin import ClusterFactory, KubectlRunner, kubectl_binary, kubectl_environment

pytestmark = [pytest.mark.kubectl, pytest.mark.timeout(90)]

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "hello", "labels": {"app": "hello"}},
    "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["true"]}]},
}


@pytest_asyncio.fixture
async def api_cluster(kubesim_factory: ClusterFactory) -> Cluster:
    # The API contract does not need pods to run: no kubelet keeps these tests quick.
    return await kubesim_factory(kubelet=False)


@pytest.mark.asyncio
async def test_get_namespaces_pods_nodes_as_json(
    api_cluster: Cluster, kubectl: KubectlRunner
) -> None:
    result = (await kubectl(api_cluster, "get", "ns,pods,nodes", "-A", "-o", "json")).check()
    listed = json.loads(result.stdout)
    assert listed["kind"] == "List"
    by_kind: dict[str, set[str]] = {}
    for item in listed["items"]:
        by_kind.setdefault(item["kind"], set()).add(item["metadata"]["name"])
    assert {"default", "kube-system"} <= by_kind["Namespace"]
    nodes = api_cluster.store.list(kinds.NODES)
    assert by_kind.get("Node", set()) == {n["metadata"]["name"] for n in nodes}
    assert len(by_kind.get("Pod", set())) == len(api_cluster.store.list(kinds.PODS))


@pytest.mark.asyncio
async def test_server_version_is_1_32(api_cluster: Cluster, kubectl: KubectlRunner) -> None:
    result = (await kubectl(api_cluster, "version", "-o", "json")).check()
    server = json.loads(result.stdout)["serverVersion"]
    assert (server["major"], server["minor"]) == ("1", "32")
    assert server["gitVersion"].startswith("v1.32.")


@pytest.mark.asyncio
async def test_create_pod_from_file_and_watch_sees_it(
    api_cluster: Cluster, kubectl: KubectlRunner, tmp_path: Path
) -> None:
    binary = kubectl_binary()
    assert binary is not None
    watcher = await asyncio.create_subprocess_exec(
        binary,
        "get",
        "pods",
        "-w",
        "-o",
        "name",
        env=kubectl_environment(api_cluster, tmp_path / "watch-home"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        # The watch is open once the server has recorded it.
        async with asyncio.timeout(20):
            while not any(r.verb == "watch" and r.resource == "pods" for r in api_cluster.audit):
                await asyncio.sleep(0.05)
        manifest = tmp_path / "pod.json"
        manifest.write_text(json.dumps(POD))
        created = (await kubectl(api_cluster, "create", "-f", str(manifest))).check()
        assert created.stdout.strip() == "pod/hello created"
        assert watcher.stdout is not None
        async with asyncio.timeout(20):
            while True:
                line = (await watcher.stdout.readline()).decode()
                assert line, "kubectl get -w ended early"
                if line.strip() == "pod/hello":
                    break
    finally:
        watcher.kill()
        await watcher.communicate()  # drains and closes the pipes, not just reaps the process
    stored = api_cluster.store.get(kinds.PODS, "hello", namespace="default")
    assert stored["status"]["phase"] == "Pending"
    assert stored["spec"]["serviceAccountName"] == "default"


@pytest.mark.asyncio
async def test_auth_can_i_for_the_default_users(
    api_cluster: Cluster, kubectl: KubectlRunner
) -> None:
    admin = await kubectl(api_cluster, "auth", "can-i", "create", "clusterrolebindings")
    assert (admin.returncode, admin.stdout.strip()) == (0, "yes")
    user = await kubectl(api_cluster, "auth", "can-i", "list", "pods", token=USER_TOKEN)
    assert (user.returncode, user.stdout.strip()) == (1, "no")


@pytest.mark.asyncio
async def test_binding_created_at_run_time_takes_effect(
    api_cluster: Cluster, kubectl: KubectlRunner
) -> None:
    before = await kubectl(api_cluster, "auth", "can-i", "list", "pods", token=USER_TOKEN)
    assert before.stdout.strip() == "no"
    (
        await kubectl(
            api_cluster,
            "create",
            "clusterrolebinding",
            "dev-view",
            "--clusterrole=view",
            "--user=developer",
        )
    ).check()
    after = await kubectl(api_cluster, "auth", "can-i", "list", "pods", token=USER_TOKEN)
    assert (after.returncode, after.stdout.strip()) == (0, "yes")


@pytest.mark.asyncio
async def test_delete_namespace_cascades(
    api_cluster: Cluster, kubectl: KubectlRunner, tmp_path: Path
) -> None:
    (await kubectl(api_cluster, "create", "namespace", "doomed")).check()
    manifest = tmp_path / "pod.json"
    manifest.write_text(json.dumps(POD))
    (await kubectl(api_cluster, "create", "-n", "doomed", "-f", str(manifest))).check()
    namespace = api_cluster.store.get(kinds.NAMESPACES, "doomed")
    owned_binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "name": "doomed-admin",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "name": "doomed",
                    "uid": namespace["metadata"]["uid"],
                }
            ],
        },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "doomed"}],
    }
    binding_file = tmp_path / "crb.json"
    binding_file.write_text(json.dumps(owned_binding))
    (await kubectl(api_cluster, "create", "-f", str(binding_file))).check()

    deleted = (await kubectl(api_cluster, "delete", "namespace", "doomed")).check()
    assert deleted.stdout.strip() == 'namespace "doomed" deleted'
    pods = await kubectl(api_cluster, "get", "pods", "-n", "doomed", "-o", "name")
    assert pods.stdout.strip() == ""
    gone = await kubectl(api_cluster, "get", "clusterrolebinding", "doomed-admin")
    assert gone.returncode == 1
    assert "NotFound" in gone.stderr
    ns = await kubectl(api_cluster, "get", "namespace", "doomed")
    assert 'namespaces "doomed" not found' in ns.stderr


@pytest.mark.asyncio
async def test_unknown_resources_are_errors(api_cluster: Cluster, kubectl: KubectlRunner) -> None:
    unknown_type = await kubectl(api_cluster, "get", "frobnicators")
    assert unknown_type.returncode == 1
    assert 'the server doesn\'t have a resource type "frobnicators"' in unknown_type.stderr
    raw = await kubectl(api_cluster, "get", "--raw", "/api/v1/namespaces/default/frobnicators")
    assert raw.returncode == 1
    assert "NotFound" in raw.stderr
    missing = await kubectl(api_cluster, "get", "pod", "no-such-pod")
    assert missing.returncode == 1
    assert 'Error from server (NotFound): pods "no-such-pod" not found' in missing.stderr


@pytest.mark.asyncio
async def test_forbidden_user_gets_the_kubernetes_message(
    api_cluster: Cluster, kubectl: KubectlRunner
) -> None:
    result = await kubectl(api_cluster, "get", "pods", token=USER_TOKEN)
    assert result.returncode == 1
    assert (
        'Error from server (Forbidden): pods is forbidden: User "developer" cannot list '
        'resource "pods" in API group "" in the namespace "default"'
    ) in result.stderr


@pytest.mark.asyncio
async def test_bad_token_is_unauthorized(api_cluster: Cluster, kubectl: KubectlRunner) -> None:
    result = await kubectl(api_cluster, "get", "pods", token="not-a-token")
    assert result.returncode == 1
    assert "You must be logged in to the server" in result.stderr


@pytest.mark.asyncio
@pytest.mark.parametrize("openshift", [True, False])
async def test_api_resources_list_openshift_groups_only_on_openshift(
    kubesim_factory: ClusterFactory, kubectl: KubectlRunner, openshift: bool
) -> None:
    cluster = await kubesim_factory(kubelet=False, openshift=openshift)
    result = (await kubectl(cluster, "api-resources", "-o", "name")).check()
    names = set(result.stdout.split())
    assert {"pods", "namespaces", "nodes", "clusterrolebindings.rbac.authorization.k8s.io"} <= names
    openshift_names = {
        "imagestreams.image.openshift.io",
        "clusterversions.config.openshift.io",
        "clusteroperators.config.openshift.io",
        "clusterserviceversions.operators.coreos.com",
        "plans.forklift.konveyor.io",
    }
    if openshift:
        assert openshift_names <= names
    else:
        assert not openshift_names & names
        missing = await kubectl(cluster, "get", "--raw", "/apis/config.openshift.io/v1")
        assert missing.returncode == 1


@pytest.mark.asyncio
async def test_get_in_chunks_follows_continue_tokens(
    api_cluster: Cluster, kubectl: KubectlRunner
) -> None:
    expected = {n["metadata"]["name"] for n in api_cluster.store.list(kinds.NAMESPACES)}
    assert len(expected) > 4
    result = await kubectl(api_cluster, "get", "namespaces", "--chunk-size=2", "-o", "name")
    names = {line.removeprefix("namespace/") for line in result.check().stdout.split()}
    assert names == expected
    lists = [r for r in api_cluster.audit if r.verb == "list" and r.resource == "namespaces"]
    assert len(lists) == (len(expected) + 1) // 2


@pytest.mark.asyncio
async def test_server_side_apply_creates_then_updates(
    api_cluster: Cluster, kubectl: KubectlRunner, tmp_path: Path
) -> None:
    manifest = tmp_path / "cm.json"
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied", "namespace": "default"},
        "data": {"a": "1"},
    }
    manifest.write_text(json.dumps(config_map))
    first = (await kubectl(api_cluster, "apply", "--server-side", "-f", str(manifest))).check()
    assert first.stdout.strip() == "configmap/applied serverside-applied"
    config_map["data"] = {"a": "2"}
    manifest.write_text(json.dumps(config_map))
    (await kubectl(api_cluster, "apply", "--server-side", "-f", str(manifest))).check()
    stored = api_cluster.store.get(kinds.CONFIG_MAPS, "applied", namespace="default")
    assert stored["data"] == {"a": "2"}
    applies = [r for r in api_cluster.audit if r.verb == "patch" and r.name == "applied"]
    assert len(applies) == 2


@pytest.mark.asyncio
async def test_get_pods_shows_a_finished_gather_beside_a_running_copy_as_not_ready(
    api_cluster: Cluster, kubectl: KubectlRunner
) -> None:
    store = api_cluster.store
    pod = {
        "metadata": {"name": "must-gather-x", "namespace": "default"},
        "spec": {
            "containers": [
                {"name": "gather", "image": "busybox"},
                {"name": "copy", "image": "busybox"},
            ]
        },
    }
    stored = store.create(kinds.PODS, pod)
    stored["status"] = {
        "phase": "Running",
        "conditions": [
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": "False"},
        ],
        "containerStatuses": [
            {
                "name": "gather",
                "ready": False,
                "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
            },
            {"name": "copy", "ready": True, "restartCount": 0, "state": {"running": {}}},
        ],
    }
    store.replace(kinds.PODS, stored)
    result = (await kubectl(api_cluster, "get", "pod", "must-gather-x", "--no-headers")).check()
    assert result.stdout.split()[:3] == ["must-gather-x", "1/2", "NotReady"]

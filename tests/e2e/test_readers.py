"""Archives built against kubesim open in the readers support engineers use: ``omg``
(o-must-gather), must-gather-parser and insights-core's OpenShift component list the objects
the cluster holds.

Each archive is packed as the service packs it and extracted with ``tar xzf``, as the person
who downloads it does (insights-core is given the archive itself). The paths: the fallback
inspect after an unpullable image, after a pod that never starts, and after an image that
failed half way (its partial data beside the inspect), the OpenShift default image's
stand-in, all-images, and plain Kubernetes. Each reader is asked for pods in all namespaces,
clusteroperators, clusterversion and nodes (omg and must-gather-parser also for events and
one pod's log); the answers are compared with kubesim's store.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kubesim import kinds
from kubesim.cluster import Cluster
from kubesim.pytest_plugin import ClusterFactory
from kubesim.seed.objects import LOG_ANNOTATION
from must_gather_api.archive import packing
from support.native import ORIGIN, Lines, executor_for, job
from support.readers import Omg, insights, parse, require_readers

pytestmark = pytest.mark.timeout(180)

UNPULLABLE = "kubesim.local/must-gather-unpullable:latest"
FAILS = "kubesim.local/must-gather-fails-halfway:latest"
CVO_NAMESPACE = "openshift-cluster-version"
ARCHIVE = "must-gather.tar.gz"  # where ``gathered`` packs it, in the test's folder
# The namespaces the default image's gather always inspects (openshift/must-gather's
# collection-scripts/gather, as kubesim's stand-in follows it).
ALWAYS_INSPECTED = {CVO_NAMESPACE, "default", "openshift", "kube-system", "openshift-etcd"}


def related_namespaces(cluster: Cluster, *, with_object_namespaces: bool) -> set[str]:
    found: set[str] = set()
    for operator in cluster.store.list(kinds.CLUSTER_OPERATORS):
        for ref in (operator.get("status") or {}).get("relatedObjects") or []:
            if ref.get("resource") == "namespaces" and not ref.get("group"):
                found.add(ref["name"])
            elif with_object_namespaces and ref.get("namespace"):
                found.add(ref["namespace"])
    return found


def pods_in(cluster: Cluster, namespaces: set[str]) -> set[tuple[str, str]]:
    return {
        (p["metadata"]["namespace"], p["metadata"]["name"])
        for p in cluster.store.list(kinds.PODS)
        if p["metadata"]["namespace"] in namespaces
    }


def names(cluster: Cluster, kind: kinds.Kind) -> set[str]:
    return {o["metadata"]["name"] for o in cluster.store.list(kind)}


def events_in(cluster: Cluster, namespaces: set[str]) -> set[str]:
    return {
        f"{e['metadata']['namespace']}/{e['metadata']['name']}"
        for e in cluster.store.list(kinds.EVENTS)
        if e["metadata"]["namespace"] in namespaces
    }


def cvo_pod(cluster: Cluster) -> tuple[str, str, list[str]]:
    """The cluster-version operator's pod, its container and its log lines' text."""
    [pod] = cluster.store.list(kinds.PODS, namespace=CVO_NAMESPACE)
    container = pod["spec"]["containers"][0]["name"]
    text = str(pod["metadata"]["annotations"][LOG_ANNOTATION])
    return (
        pod["metadata"]["name"],
        container,
        [line.partition(" ")[2] for line in text.splitlines()],
    )


async def check_readers(
    cluster: Cluster,
    tree: Path,
    home: Path,
    *,
    namespaces: set[str],
    nodes: set[str],
    omg_tree: Path | None = None,
    insights_nodes: set[str] | None = None,
) -> None:
    """``omg`` reads ``omg_tree`` (one must-gather folder; default ``tree``),
    must-gather-parser every folder of ``tree`` that has a ``timestamp``, insights-core the
    packed archive whole (so ``insights_nodes``: the nodes of every folder; default
    ``nodes``)."""
    expected_pods = pods_in(cluster, namespaces)
    assert len(expected_pods) >= 3
    operators = names(cluster, kinds.CLUSTER_OPERATORS)
    pod, container, log_lines = cvo_pod(cluster)

    omg = Omg(home / "omg")
    assert "Using:" in await omg.use(omg_tree or tree)
    rows = await omg.table("pods", "-A")
    assert {(r["NAMESPACE"], r["NAME"]) for r in rows} == expected_pods
    assert len(rows) == len(expected_pods)
    rows = await omg.table("clusteroperators")
    assert {r["NAME"] for r in rows} == operators and len(rows) == len(operators)
    degraded = {r["NAME"] for r in rows if r["DEGRADED"] == "True"}
    assert degraded == {
        o["metadata"]["name"]
        for o in cluster.store.list(kinds.CLUSTER_OPERATORS)
        if any(
            c["type"] == "Degraded" and c["status"] == "True"
            for c in o.get("status", {}).get("conditions") or []
        )
    }
    rows = await omg.table("clusterversion")
    assert [r["NAME"] for r in rows] == ["version"]
    rows = await omg.table("nodes")
    assert {r["NAME"] for r in rows} == nodes
    rows = await omg.table("events", "-A")
    assert len(rows) == len(events_in(cluster, namespaces))
    logged = (await omg.run("logs", "-n", CVO_NAMESPACE, pod, "-c", container)).splitlines()
    # omg prints the file it reads, then its lines.
    assert [line.partition(" ")[2] for line in logged[1:] if line] == log_lines

    found = await parse(
        tree, home / "parser", namespace=CVO_NAMESPACE, pod=pod, container=container
    )
    assert set(found["pods"]) == {f"{ns}/{name}" for ns, name in expected_pods}
    assert set(found["clusteroperators"]) == {f"/{name}" for name in operators}
    assert found["clusterversions"] == ["/version"]
    assert set(found["nodes"]) == {f"/{name}" for name in nodes}
    assert set(found["events"]) == events_in(cluster, namespaces)
    assert [line.partition(" ")[2] for line in found["log"]] == log_lines

    found = await insights(home / ARCHIVE, home / "insights")
    assert set(found["Pod"]) == {f"{ns}/{name}" for ns, name in expected_pods}
    assert set(found["ClusterOperator"]) == {f"/{name}" for name in operators}
    assert found["ClusterVersion"] == ["/version"]
    wanted = nodes if insights_nodes is None else insights_nodes
    assert set(found["Node"]) == {f"/{name}" for name in wanted}


async def gathered(cluster: Cluster, tmp_path: Path, **fields: Any) -> tuple[Path, str]:
    """The gathering's archive as a support engineer opens it: packed as the service packs
    it, then extracted with ``tar xzf``; the tree under its root folder."""
    executor = await executor_for(cluster, tmp_path)
    gathering = job(tmp_path, **fields)
    output = Lines()
    outcome = await executor.run(gathering, output)
    archive = tmp_path / ARCHIVE
    await asyncio.to_thread(
        packing.pack,
        gathering.work_dir,
        archive,
        partial=tmp_path / "archive.partial",
        limit=None,
    )
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    tar = await asyncio.create_subprocess_exec(
        "tar", "-xzf", str(archive), "-C", str(extracted), stderr=asyncio.subprocess.PIPE
    )
    _, err = await tar.communicate()
    assert tar.returncode == 0, err.decode()
    [root] = list(extracted.iterdir())
    assert root.name == "must-gather"
    return root, outcome.error_reason


@pytest.mark.asyncio
async def test_the_fallback_after_an_unpullable_image_opens_in_the_readers(
    kubesim: Cluster, tmp_path: Path
) -> None:
    require_readers()
    tree, reason = await gathered(kubesim, tmp_path, images=(UNPULLABLE,))
    assert "unable to pull image" in reason and "fallback inspect ran" in reason
    inspected = related_namespaces(kubesim, with_object_namespaces=False) | {CVO_NAMESPACE}
    # oc's fallback inspects no nodes: the readers find none, as in a real fallback archive.
    await check_readers(kubesim, tree, tmp_path, namespaces=inspected, nodes=set())


@pytest.mark.asyncio
async def test_the_fallback_after_a_pod_that_never_starts_opens_in_the_readers(
    kubesim: Cluster, tmp_path: Path
) -> None:
    require_readers()
    # The pod is bound to a node that stopped: gather never starts before the timeout. (A
    # selector that no node matches is refused before any pod exists, as by oc.)
    kubesim.faults.node_not_ready("worker-0")
    tree, reason = await gathered(kubesim, tmp_path, node_name="worker-0", timeout=3)
    assert "gather did not start" in reason and "worker-0" in reason, reason
    assert "fallback inspect ran" in reason
    inspected = related_namespaces(kubesim, with_object_namespaces=False) | {CVO_NAMESPACE}
    await check_readers(kubesim, tree, tmp_path, namespaces=inspected, nodes=set())


@pytest.mark.asyncio
async def test_the_default_image_archive_opens_in_the_readers(
    kubesim: Cluster, tmp_path: Path
) -> None:
    require_readers()
    tree, reason = await gathered(kubesim, tmp_path, images=(ORIGIN,))
    assert reason == ""
    inspected = ALWAYS_INSPECTED | related_namespaces(kubesim, with_object_namespaces=True)
    await check_readers(
        kubesim, tree, tmp_path, namespaces=inspected, nodes=names(kubesim, kinds.NODES)
    )


@pytest.mark.asyncio
async def test_a_gathering_that_failed_half_way_opens_in_the_readers(
    kubesim: Cluster, tmp_path: Path
) -> None:
    require_readers()
    tree, reason = await gathered(kubesim, tmp_path, images=(FAILS,))
    assert "exit code: 1" in reason and "fallback inspect ran" in reason
    [inspect] = sorted(tree.glob("inspect.local.*"))
    inspected = related_namespaces(kubesim, with_object_namespaces=False) | {CVO_NAMESPACE}
    # The image wrote three nodes before failing, but no `timestamp`: must-gather-parser
    # reads only folders that have one (here the inspect's). omg reads the folder it is
    # given: with two folders `omg use` asks which, as with oc's archive.
    assert len(list(tree.glob("*/cluster-scoped-resources/core/nodes/*.yaml"))) == 3
    half_way_nodes = {p.stem for p in tree.glob("*/cluster-scoped-resources/core/nodes/*.yaml")}
    await check_readers(
        kubesim,
        tree,
        tmp_path,
        namespaces=inspected,
        nodes=set(),
        omg_tree=inspect,
        insights_nodes=half_way_nodes,
    )
    refused = await Omg(tmp_path / "omg-whole").use(tree)
    assert "Multiple directories found" in refused


@pytest.mark.asyncio
async def test_an_all_images_archive_opens_in_the_readers(kubesim: Cluster, tmp_path: Path) -> None:
    require_readers()
    tree, reason = await gathered(kubesim, tmp_path, images=(), all_images=True)
    assert reason == ""
    # One folder per image, as oc's: omg is pointed at the default image's.
    [origin] = [d for d in tree.iterdir() if d.name.startswith("quay-io-openshift-origin")]
    assert len([d for d in tree.iterdir() if d.is_dir()]) >= 2
    inspected = ALWAYS_INSPECTED | related_namespaces(kubesim, with_object_namespaces=True)
    await check_readers(
        kubesim,
        tree,
        tmp_path,
        namespaces=inspected,
        nodes=names(kubesim, kinds.NODES),
        omg_tree=origin,
    )


async def system_pods(cluster: Cluster, *names: str) -> None:
    """Pods in kube-system, as every real cluster has (kubesim's plain seed has none there),
    each printing one line; returns once they all run."""
    for name in names:
        cluster.store.create(
            kinds.PODS,
            {
                "metadata": {"name": name, "namespace": "kube-system"},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": name,
                            "image": "busybox",
                            "command": ["sh", "-c", f"echo {name} ready; exec sleep 300"],
                        }
                    ],
                },
            },
        )
    running: set[str] = set()
    async with asyncio.timeout(30), cluster.store.watch(kinds.PODS) as watch:
        async for _, pod in watch:
            statuses = pod.get("status", {}).get("containerStatuses") or [{}]
            if pod["metadata"]["name"] in names and "running" in statuses[0].get("state", {}):
                running.add(pod["metadata"]["name"])
                if running == set(names):
                    return


@pytest.mark.asyncio
async def test_a_plain_kubernetes_archive_opens_in_the_readers(
    kubesim_factory: ClusterFactory, tmp_path: Path
) -> None:
    require_readers()
    cluster: Cluster = await kubesim_factory(openshift=False)
    await system_pods(cluster, "coredns", "kube-proxy")
    tree, reason = await gathered(cluster, tmp_path)
    assert reason == ""
    served = {ns["metadata"]["name"] for ns in cluster.store.list(kinds.NAMESPACES)}
    expected_pods = pods_in(cluster, ALWAYS_INSPECTED & served)
    assert ("kube-system", "coredns") in expected_pods
    [image] = [d for d in tree.iterdir() if d.is_dir()]

    omg = Omg(tmp_path / "omg")
    assert "Using:" in await omg.use(image)
    rows = await omg.table("pods", "-A")
    assert {(r["NAMESPACE"], r["NAME"]) for r in rows} == expected_pods
    assert len(rows) == len(expected_pods)
    assert await omg.table("clusteroperators") == []
    assert {r["NAME"] for r in await omg.table("nodes")} == names(cluster, kinds.NODES)
    logged = (await omg.run("logs", "-n", "kube-system", "coredns", "-c", "coredns")).splitlines()
    assert [line.partition(" ")[2] for line in logged[1:] if line] == ["coredns ready"]

    found = await parse(
        tree, tmp_path / "parser", namespace="kube-system", pod="coredns", container="coredns"
    )
    assert set(found["pods"]) == {f"{ns}/{name}" for ns, name in expected_pods}
    assert found["clusteroperators"] == [] and found["clusterversions"] == []
    assert set(found["nodes"]) == {f"/{name}" for name in names(cluster, kinds.NODES)}
    assert [line.partition(" ")[2] for line in found["log"]] == ["coredns ready"]

    found = await insights(tmp_path / ARCHIVE, tmp_path / "insights")
    assert set(found["Pod"]) == {f"{ns}/{name}" for ns, name in expected_pods}
    assert found["ClusterOperator"] == [] and found["ClusterVersion"] == []
    assert set(found["Node"]) == {f"/{name}" for name in names(cluster, kinds.NODES)}

"""The native executor's options that shape the pod: since, since-time, host-network,
volume-percentage, keep, and all-images. `keep` leaves the pod to be read afterwards."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from kubesim import kinds
from kubesim.cluster import Cluster
from must_gather_api.executors.kubernetes.namespaces import GATHERING_LABEL
from must_gather_api.executors.kubernetes.pods import DEFAULT_VOLUME_PERCENTAGE
from support.native import Lines, executor_for, gone, job, leftovers

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]


def kept_pods(cluster: Cluster) -> list[dict[str, Any]]:
    return [
        pod
        for pod in cluster.store.list(kinds.PODS)
        if GATHERING_LABEL in (pod["metadata"].get("labels") or {})
    ]


def container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod["spec"]["containers"] if c["name"] == name)


async def test_pod_options_reach_the_pod_and_keep_keeps_it(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    # kubesim's disk usage checker reads the real filesystem's usage: a limit under it stops
    # the gathering (test_disk covers that), so this one stays above it, and off the default.
    usage = shutil.disk_usage(tmp_path)
    percentage = min(98, -(-100 * usage.used // (usage.used + usage.free)) + 15)  # as df
    if percentage == DEFAULT_VOLUME_PERCENTAGE:  # the default would not show it reaching the pod
        percentage += 1
    gathering = job(
        tmp_path,
        since="2h",
        host_network=True,
        volume_percentage=percentage,
        keep=True,
    )
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    assert "keeping namespace/" in output.text
    [pod] = kept_pods(kubesim)
    gather = container(pod, "gather")
    env = {item["name"]: item.get("value") for item in gather.get("env", [])}
    assert env["MUST_GATHER_SINCE"] == "2h0m0s"
    assert "MUST_GATHER_SINCE_TIME" not in env
    assert pod["spec"]["hostNetwork"] is True
    assert "CAP_NET_RAW" in gather["securityContext"]["capabilities"]["add"]
    assert f'usage_percentage_limit="{percentage}"' in gather["command"][-1]
    assert leftovers(kubesim), "keep must leave the namespace in place"
    # The operator removes what was kept by deleting the namespace.
    namespace = pod["metadata"]["namespace"]
    kubesim.store.delete(kinds.NAMESPACES, namespace)
    assert await gone(kubesim) == []


async def test_since_time_is_passed_as_given(kubesim: Cluster, tmp_path: Path) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, since_time="2026-01-02T03:04:05Z", keep=True)
    outcome = await executor.run(gathering, Lines())
    assert outcome.succeeded
    [pod] = kept_pods(kubesim)
    env = {item["name"]: item.get("value") for item in container(pod, "gather").get("env", [])}
    assert env["MUST_GATHER_SINCE_TIME"] == "2026-01-02T03:04:05Z"
    assert "MUST_GATHER_SINCE" not in env
    assert pod["spec"].get("hostNetwork", False) is False
    kubesim.store.delete(kinds.NAMESPACES, pod["metadata"]["namespace"])
    assert await gone(kubesim) == []


async def test_all_images_adds_every_annotated_image(kubesim: Cluster, tmp_path: Path) -> None:
    annotated = sorted(
        {
            obj["metadata"]["annotations"]["operators.openshift.io/must-gather-image"]
            for kind in (kinds.CLUSTER_SERVICE_VERSIONS, kinds.CLUSTER_OPERATORS)
            for obj in kubesim.store.list(kind)
            if "operators.openshift.io/must-gather-image"
            in (obj["metadata"].get("annotations") or {})
        }
    )
    assert annotated, "the seed should annotate some operators"
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, images=(), all_images=True)
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    using = next(line for line in output.lines if "Using must-gather plug-in image" in line)
    for image in annotated:
        assert image in using
    assert await gone(kubesim) == []

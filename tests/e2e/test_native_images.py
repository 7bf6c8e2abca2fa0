"""The native executor with other images and options: Forklift's targeted gathering, image
streams, a node selector, a hostile tree, and a plain Kubernetes cluster."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kubesim.cluster import Cluster
from kubesim.pytest_plugin import ClusterFactory
from must_gather_api.archive import packing
from support.native import (
    FORKLIFT,
    Lines,
    executor_for,
    gone,
    image_dirs,
    job,
    leftovers,
    members,
)

pytestmark = pytest.mark.timeout(120)

HOSTILE = "kubesim.local/must-gather-hostile-paths:latest"
UNPULLABLE = "kubesim.local/must-gather-unpullable:latest"


@pytest.mark.asyncio
async def test_forklift_targeted_gathering_keeps_its_own_archive(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(
        tmp_path,
        images=(FORKLIFT,),
        command="PLAN=prod-cold-migration NS=openshift-mtv /usr/bin/targeted",
    )
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    own = packing.find_packed_archive(gathering.work_dir, "must-gather.tar.gz")
    assert own is not None, sorted(str(p) for p in gathering.work_dir.rglob("*"))
    names = members(own)
    assert "must-gather/namespaces/openshift-mtv/crs/plan/prod-cold-migration.yaml" in names
    assert "Waiting for copy phase..." in output.text
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_forklift_unknown_plan_fails_with_the_images_message(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, images=(FORKLIFT,), command="PLAN=nope /usr/bin/targeted")
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert "exit code: 1" in outcome.error_reason
    assert "ERROR: No resources matching the criteria were found" in output.text
    # The reason says what the image said, after the fact that it failed.
    assert outcome.error_reason.endswith(
        "its last error line: ERROR: No resources matching the criteria were found. "
        "Try adjust NS, PLAN or VM env variables."
    ), outcome.error_reason
    # A custom command failed: no fallback inspect, as oc.
    assert not list(gathering.work_dir.glob("inspect.local.*"))
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_an_image_stream_is_resolved(kubesim: Cluster, tmp_path: Path) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, images=(), image_stream="openshift/must-gather:latest")
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, outcome.error_reason
    assert "Using must-gather plug-in image: quay.io/openshift/origin-must-gather@sha256:" in (
        output.text
    )
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_an_unknown_image_stream_fails_before_any_pod(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, images=(), image_stream="openshift/nope")
    outcome = await executor.run(gathering, Lines())
    assert "unable to resolve image stream 'openshift/nope:latest'" in outcome.error_reason
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_a_node_selector_runs_one_pod_per_node(kubesim: Cluster, tmp_path: Path) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, node_selector="node-role.kubernetes.io/worker=")
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, outcome.error_reason
    nodes = sorted(p.name for p in image_dirs(gathering.work_dir))
    assert nodes == ["worker-0", "worker-1"]
    for node in nodes:
        [image_dir] = image_dirs(gathering.work_dir / node)
        assert (image_dir / "version").is_file()
    assert output.text.count("on node: worker-") == 2
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_a_hostile_tree_stays_inside_the_work_dir(kubesim: Cluster, tmp_path: Path) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, images=(HOSTILE,))
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, outcome.error_reason
    [image_dir] = image_dirs(gathering.work_dir)
    work = gathering.work_dir.resolve()
    for directory, dirs, files in os.walk(gathering.work_dir):
        for name in dirs + files:
            path = Path(directory, name)
            info = path.lstat()
            assert (
                stat.S_ISREG(info.st_mode)
                or stat.S_ISDIR(info.st_mode)
                or stat.S_ISLNK(info.st_mode)
            ), path
            if stat.S_ISREG(info.st_mode):
                assert info.st_nlink == 1, path
                assert path.resolve().is_relative_to(work)
    assert (image_dir / "links" / "shadow").is_symlink()
    assert not (image_dir / "links" / "fifo").exists()
    archive = tmp_path / "archive.tar.gz"
    packing.pack(gathering.work_dir, archive, partial=tmp_path / "partial", limit=None)
    for name in members(archive):
        assert not name.startswith("/") and ".." not in name.split("/"), name
    assert "root:" not in (image_dir / "gather.logs").read_text()
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_plain_kubernetes_gathers_and_skips_the_openshift_fallback(
    kubesim_factory: ClusterFactory, tmp_path: Path
) -> None:
    cluster: Cluster = await kubesim_factory(openshift=False)
    executor = await executor_for(cluster, tmp_path, must_gather_image=UNPULLABLE)
    gathering = job(tmp_path, images=())
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert f"unable to pull image {UNPULLABLE}" in outcome.error_reason
    assert "skipped: the cluster is not OpenShift" in outcome.error_reason
    assert not list(gathering.work_dir.glob("inspect.local.*"))

    done = job(tmp_path)
    outcome = await executor.run(done, Lines())
    assert outcome.succeeded, outcome.error_reason
    assert leftovers(cluster) == []


@pytest.mark.asyncio
async def test_a_run_namespace_gets_no_binding_and_loses_only_our_pods(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, run_namespace="migration-demo", keep=False)
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, outcome.error_reason
    assert "clusterrolebinding" not in output.text and "namespace/" not in output.text
    assert "deleted" in output.text
    assert await gone(kubesim) == []


@pytest.mark.asyncio
async def test_two_references_to_one_image_copy_into_separate_directories(
    kubesim: Cluster, tmp_path: Path
) -> None:
    # A tag and the bare name are one digest: their pods run at once and must not share a tree.
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(
        tmp_path,
        images=(
            "quay.io/openshift/origin-must-gather:latest",
            "quay.io/openshift/origin-must-gather",
        ),
    )
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    names = sorted(path.name for path in image_dirs(gathering.work_dir))
    assert len(names) == 2 and names[1] == f"{names[0]}-2"
    assert all((gathering.work_dir / name / "version").is_file() for name in names)
    assert await gone(kubesim) == []

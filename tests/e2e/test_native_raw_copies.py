"""The service's executor (``raw_copies=True``) keeps each pod's raw copy for the one pass:
the tree holds only the service's files, and the archive built from the copies holds what
the whole tree would, with the same ``event-filter.html``."""

from __future__ import annotations

import io
import shutil
import tarfile
import time
from pathlib import Path

import pytest

from kubesim.cluster import Cluster
from must_gather_api.archive import onepass, onepass_job, raw_copies
from must_gather_api.executors.base import Job
from must_gather_api.executors.kubernetes import KubernetesExecutor, events_page
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.namespaces import create_temporary
from must_gather_api.executors.kubernetes.pods import PodOptions, pod_body
from support.native import FAST, ORIGIN, Lines, access_for, job, leftovers
from support.service import make_settings

pytestmark = pytest.mark.timeout(120)


async def raw_executor(cluster: Cluster, tmp_path: Path) -> KubernetesExecutor:
    settings = make_settings(
        tmp_path,
        gather_credentials="service",
        cluster_request_timeout="10s",
        gather_timeout_margin="60s",
    )
    return KubernetesExecutor(
        await access_for(cluster, tmp_path), settings, timings=FAST, raw_copies=True
    )


@pytest.mark.asyncio
async def test_raw_copies_are_kept_beside_the_tree_and_make_the_whole_archive(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await raw_executor(kubesim, tmp_path)
    gathering = job(tmp_path)
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"

    copies = raw_copies.recorded(gathering.work_dir.parent)
    assert len(copies) == 1
    [copy] = copies
    assert copy.pod.startswith("must-gather-")
    # The tree holds the service's files only: the pod's data stays in its raw copy.
    tree_files = sorted(
        p.relative_to(gathering.work_dir).as_posix()
        for p in gathering.work_dir.rglob("*")
        if p.is_file()
    )
    assert tree_files == ["must-gather.logs", f"{copy.folder}/gather.logs", "timestamp"]
    assert " downloaded " not in output.text  # printed when the archive is built

    # What extraction would have made of the same copy, for comparison.
    extracted_tree = tmp_path / "extracted"
    shutil.copytree(gathering.work_dir, extracted_tree)
    onepass.extract_all(
        extracted_tree, [onepass.Source(copy.tar, copy.folder)], limit=None, max_entries=None
    )
    events_page.write_page(extracted_tree)

    archive = tmp_path / "archive"
    built = await onepass_job.build_gathering(
        gathering.work_dir,
        [onepass.Source(copy.tar, copy.folder)],
        archive,
        partial=tmp_path / "archive.partial",
        index_path=tmp_path / "archive.index",
        limit=None,
        max_entries=None,
        deadline=time.monotonic() + 60,
        own_archive="must-gather.tar.gz",
    )
    assert isinstance(built, onepass_job.Streamed) and built.one_pass
    [extracted] = built.extracted
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        page = tar.extractfile("must-gather/event-filter.html")
        assert page is not None
        served_page = page.read().decode()
    expected = {
        "must-gather/" + p.relative_to(extracted_tree).as_posix() for p in extracted_tree.rglob("*")
    } | {"must-gather"}
    assert set(names) == expected
    assert len(names) == len(expected)  # nothing twice
    assert (
        extracted.files
        == sum(
            1
            for p in (extracted_tree / copy.folder).rglob("*")
            if p.is_file() and not p.is_symlink()
        )
        - 1
    )  # gather.logs is the service's
    assert served_page == (extracted_tree / "event-filter.html").read_text()
    assert "<h1>Events (0)</h1>" not in served_page  # the image writes events.yaml files
    # Among the first members, where `tar tzf | head` shows it.
    assert names.index("must-gather/event-filter.html") < 10


async def left_running(cluster: Cluster, tmp_path: Path, gathering: Job) -> str:
    """What a process that died mid-gathering leaves: our namespace with a running pod; the
    pod's name."""
    access = await access_for(cluster, tmp_path)
    calls = ClusterCalls(access.api_client(), request_timeout=10, deadline=time.monotonic() + 30)
    try:
        place = await create_temporary(
            calls, gathering.gathering_id, Console(Lines(), tmp_path), instance="default"
        )
        command = gathering.options.command
        options = PodOptions(
            gathering_id=gathering.gathering_id, command=command.value if command else None
        )
        created = await calls.post(
            f"/api/v1/namespaces/{place.name}/pods", pod_body(ORIGIN, "", options), what="create"
        )
    finally:
        await calls.close()
    return str(created["metadata"]["name"])


@pytest.mark.asyncio
async def test_a_resumed_gathering_copies_its_pod_again_and_keeps_the_others_copies(
    kubesim: Cluster, tmp_path: Path
) -> None:
    command = "bash -c 'sleep 2 && /usr/bin/gather'"
    gathering = job(tmp_path, command=command)
    pod = await left_running(kubesim, tmp_path, gathering)
    scratch = gathering.work_dir.parent
    # The earlier process had copied this pod (cut short or not, it is copied again) and
    # another pod that no longer runs: that one's copy is used as it was recorded.
    earlier = scratch / f"copy-{pod}-00000001.tar"
    gone_pod = scratch / "copy-must-gather-gone1-00000002.tar"
    for path in (earlier, gone_pod):
        with tarfile.open(path, "w") as tar:
            info = tarfile.TarInfo("version")
            info.size = 3
            tar.addfile(info, io.BytesIO(b"old"))
    raw_copies.record(gone_pod, folder="other-image", pod="must-gather-gone1")
    raw_copies.record(earlier, folder="image", pod=pod)
    executor = await raw_executor(kubesim, tmp_path)
    output = Lines()

    outcome = await executor.recover(gathering, output)

    assert outcome is not None and outcome.succeeded, (outcome, output.text)
    assert "attaching to pod" in output.text
    copies = raw_copies.recorded(scratch)
    assert [copy.pod for copy in copies] == ["must-gather-gone1", pod]
    assert copies[0].tar == gone_pod
    assert copies[1].tar != earlier and not earlier.exists()
    assert [p.name for p in scratch.glob("copy-*.tar")].count(earlier.name) == 0
    assert len(list(scratch.glob("copy-*.tar"))) == 2
    with tarfile.open(copies[1].tar) as tar:
        assert any(name.endswith("version") for name in tar.getnames())
    assert leftovers(kubesim) == []

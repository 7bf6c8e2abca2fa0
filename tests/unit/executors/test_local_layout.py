"""The top level of a gathered tree is oc's destination directory, and the archive puts it
under the service's root.

Derived from openshift/oc ``pkg/cli/admin/mustgather/mustgather.go`` at commit
6b8e30c5b39aa742147846341a203905e04834f3: ``Run`` creates ``must-gather.logs`` in the
destination and writes ``timestamp`` (``logTimestamp``: ``time.Now()`` with ``%v``, at the
start and, deferred, at the end) and ``event-filter.html`` (``inspect.CreateEventFilterPage``);
``copyFilesFromPod`` puts each image's data and ``gather.logs`` in a folder named after the
gather container's image ID (``[^A-Za-z0-9]+`` made ``-``), under a folder named the same
way after the node with a node selector; ``BackupGathering`` writes into
``inspect.local.<n>``.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path
from typing import Any

import pytest

from must_gather_api.archive import packing
from must_gather_api.executors.kubernetes import events_page, local_layout
from must_gather_api.executors.kubernetes.console import Console, go_time_now, now_rfc3339nano
from must_gather_api.executors.kubernetes.pods import GATHER, image_folder
from support.native import Lines

# Go's Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST" and the monotonic reading.
GO_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{0,8}[1-9]? \+0000 UTC m=\+\d+\.\d{9}$")
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$")
IMAGE_ID = "quay.io/openshift/origin-must-gather@sha256:86a5db0228a05c27d19620c285503bab"


def pod_with(image_id: str) -> dict[str, Any]:
    return {"status": {"containerStatuses": [{"name": GATHER, "imageID": image_id}]}}


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        (IMAGE_ID, "quay-io-openshift-origin-must-gather-sha256-86a5db0228a05c27d19620c285503bab"),
        (
            "docker-pullable://registry:5000/ns/img@sha256:ab",
            "docker-pullable-registry-5000-ns-img-sha256-ab",
        ),
        ("worker-0.example.com", "worker-0-example-com"),
        ("node_1", "node-1"),
        ("", "fallback"),
    ],
)
def test_folders_are_named_as_oc_names_them(name: str, folder: str) -> None:
    assert local_layout.folder_name(name, "fallback") == folder


def test_an_image_folder_comes_from_the_gather_containers_image_id() -> None:
    assert image_folder(pod_with(IMAGE_ID), "ignored:latest") == (
        "quay-io-openshift-origin-must-gather-sha256-86a5db0228a05c27d19620c285503bab"
    )
    # No image ID yet: the image reference asked for, named the same way.
    assert image_folder({}, "quay.io/x/y:latest") == "quay-io-x-y-latest"


@pytest.mark.asyncio
async def test_the_top_level_files_are_ocs(tmp_path: Path) -> None:
    work = tmp_path / "work"
    async with Console(Lines(), work) as console:
        console.out("Using must-gather plug-in image: quay.io/openshift/origin-must-gather")
        console.stamp()
        (work / local_layout.folder_name(IMAGE_ID, "image")).mkdir()
        console.stamp()
        events_page.write_page(work)
    assert sorted(p.name for p in work.iterdir()) == sorted(
        [
            local_layout.LOGS_FILE,
            local_layout.TIMESTAMP_FILE,
            local_layout.EVENTS_PAGE,
            "quay-io-openshift-origin-must-gather-sha256-86a5db0228a05c27d19620c285503bab",
        ]
    )
    assert (local_layout.LOGS_FILE, local_layout.TIMESTAMP_FILE, local_layout.EVENTS_PAGE) == (
        "must-gather.logs",
        "timestamp",
        "event-filter.html",
    )
    stamps = (work / "timestamp").read_text().splitlines()
    assert len(stamps) == 2 and all(GO_TIME.match(line) for line in stamps), stamps
    [logged] = (work / "must-gather.logs").read_text().splitlines()
    prefix, _, rest = logged.partition(" OUT ")
    assert prefix == "[must-gather      ]"
    assert RFC3339_NANO.match(rest.split(" ")[0]), logged


def test_go_time_forms() -> None:
    assert GO_TIME.match(go_time_now(0))
    # Without a monotonic origin (a time from outside a gathering) there is no m=.
    assert re.match(r"^\S+ \S+ \+0000 UTC$", go_time_now())
    assert RFC3339_NANO.match(now_rfc3339nano())


def test_the_archive_root_is_must_gather(tmp_path: Path) -> None:
    """The tree goes under ``must-gather/`` (the root the Forklift images' own archives
    have, and what ``/files`` paths begin with), not oc's ``must-gather.local.<n>/``."""
    tree = tmp_path / "work"
    (tree / "image").mkdir(parents=True)
    for name in ("must-gather.logs", "timestamp", "event-filter.html", "image/gather.logs"):
        (tree / name).write_text("x\n")
    archive = tmp_path / "archive"
    packing.pack(tree, archive, partial=tmp_path / "archive.partial", limit=None)
    with tarfile.open(archive) as tar:
        names = {member.name.removeprefix("./") for member in tar.getmembers()}
    assert {name.split("/")[0] for name in names} == {"must-gather"}
    assert {
        "must-gather/must-gather.logs",
        "must-gather/timestamp",
        "must-gather/event-filter.html",
        "must-gather/image/gather.logs",
    } <= names

"""Copying into raw copies: MAX_ARCHIVE_BYTES counts the tree's bytes and every raw copy
kept so far (an earlier copy of the same pod, which the new one replaces, aside)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from must_gather_api.archive import raw_copies
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.errors import TooLarge
from must_gather_api.executors.kubernetes.processing import CopyPlan, PodProcessor
from support.native import Lines

pytestmark = pytest.mark.timeout(30)


def processor(tmp_path: Path, limit: int | None) -> PodProcessor:
    work = tmp_path / "work"
    (work / "image").mkdir(parents=True)
    (work / "image" / "gather.logs").write_bytes(b"l" * 100)
    plan = CopyPlan(
        work_dir=work,
        scratch_dir=tmp_path,
        source_dir="/must-gather",
        deadline=0.0,
        limit=limit,
        keep_raw=True,
    )
    return PodProcessor(
        cast(Any, None),
        namespace="ns",
        options=cast(Any, None),
        console=Console(Lines(), work),
        copying=plan,
        poll_interval=1.0,
        delete_pods=False,
    )


def copy(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    path.write_bytes(b"\0" * size)
    return path


@pytest.mark.asyncio
async def test_raw_copies_are_recorded_while_they_fit(tmp_path: Path) -> None:
    pods = processor(tmp_path, limit=100 + 1000 + 2000)
    await pods._keep(copy(tmp_path, "copy-a-1.tar", 1000), "a", "image")
    await pods._keep(copy(tmp_path, "copy-b-2.tar", 2000), "b", "image-2")

    assert [(c.pod, c.folder) for c in raw_copies.recorded(tmp_path)] == [
        ("a", "image"),
        ("b", "image-2"),
    ]


@pytest.mark.asyncio
async def test_a_copy_past_the_budget_fails_with_the_limits_message(tmp_path: Path) -> None:
    pods = processor(tmp_path, limit=100 + 1000 + 1999)
    await pods._keep(copy(tmp_path, "copy-a-1.tar", 1000), "a", "image")

    with pytest.raises(TooLarge) as raised:
        await pods._keep(copy(tmp_path, "copy-b-2.tar", 2000), "b", "image-2")

    assert raised.value.reason == (
        "the gathered data is larger than MAX_ARCHIVE_BYTES (3099 bytes)"
    )
    assert [c.pod for c in raw_copies.recorded(tmp_path)] == ["a"]


@pytest.mark.asyncio
async def test_a_pods_earlier_copy_does_not_count_against_its_new_one(tmp_path: Path) -> None:
    pods = processor(tmp_path, limit=100 + 1500)
    await pods._keep(copy(tmp_path, "copy-a-1.tar", 1000), "a", "image")
    await pods._keep(copy(tmp_path, "copy-a-2.tar", 1500), "a", "image")

    assert [c.tar.name for c in raw_copies.recorded(tmp_path)] == ["copy-a-2.tar"]
    assert raw_copies.kept_bytes(tmp_path) == 1500

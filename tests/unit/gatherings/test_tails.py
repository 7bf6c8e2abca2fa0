"""The list's output tails: a finished gathering's file is read once, a running one each time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.tails import ListTails
from must_gather_api.parameters import GatheringOptions

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

STAMP = datetime(2026, 12, 1, tzinfo=UTC)


def gathering(gathering_id: int, status: Status, *, updated: datetime = STAMP) -> Gathering:
    return Gathering(
        id=gathering_id,
        created_at=STAMP,
        updated_at=updated,
        status=status,
        request=GatheringOptions.of(image="example.com/gather"),
    )


def write(layout: Layout, gathering_id: int, text: str) -> None:
    path = layout.output_log(gathering_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def test_finished_tails_are_read_once_running_ones_every_time(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    tails = ListTails(layout, max_bytes=1024)
    listed = [
        gathering(1, Status.COMPLETED),
        gathering(2, Status.ERROR),
        gathering(3, Status.INPROGRESS),
        gathering(4, Status.NEW),
    ]
    for n in (1, 2, 3):
        write(layout, n, f"line of {n}\n")

    assert await tails.of(listed) == ["line of 1\n", "line of 2\n", "line of 3\n", ""]
    assert tails.reads == 4
    write(layout, 3, "line of 3\nmore of 3\n")
    assert await tails.of(listed) == ["line of 1\n", "line of 2\n", "line of 3\nmore of 3\n", ""]
    assert tails.reads == 6  # the running and the queued gathering only
    assert len(tails) == 2


async def test_a_record_updated_after_it_finished_is_read_again(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    tails = ListTails(layout, max_bytes=1024)
    write(layout, 1, "first\n")
    assert await tails.of([gathering(1, Status.COMPLETED)]) == ["first\n"]
    write(layout, 1, "first\nsecond\n")
    later = gathering(1, Status.COMPLETED, updated=STAMP + timedelta(seconds=1))
    assert await tails.of([later]) == ["first\nsecond\n"]
    assert tails.reads == 2


async def test_the_least_recently_listed_tails_go_first(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    tails = ListTails(layout, max_bytes=16, capacity=2)
    for n in (1, 2, 3):
        write(layout, n, f"{n}\n")
    await tails.of([gathering(1, Status.COMPLETED), gathering(2, Status.COMPLETED)])
    await tails.of([gathering(1, Status.COMPLETED)])  # 1 is now the most recent
    await tails.of([gathering(3, Status.COMPLETED)])  # 2 makes room for 3
    assert tails.reads == 3
    assert await tails.of([gathering(1, Status.COMPLETED), gathering(3, Status.COMPLETED)]) == [
        "1\n",
        "3\n",
    ]
    assert tails.reads == 3
    assert await tails.of([gathering(2, Status.COMPLETED)]) == ["2\n"]
    assert tails.reads == 4
    assert len(tails) == 2

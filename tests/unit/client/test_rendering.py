"""Small pieces of what the client shows: sizes, ages, output lines cut across chunks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from must_gather_api.client.following import LineSplitter
from must_gather_api.client.rendering import age, human_size, middle_ellipsis
from must_gather_api.client.session import request_body


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (3 * 1024**2 + 1, "3.0 MiB")],
)
def test_human_size(size: int, shown: str) -> None:
    assert human_size(size) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0s"), (59, "59s"), (60, "1m"), (7200, "2h"), (3 * 86400, "3d")]
)
def test_age(seconds: int, shown: str) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert age(now - timedelta(seconds=seconds), now) == shown
    assert age(None, now) == "-"


def test_lines_cut_across_chunks_and_characters_come_out_whole() -> None:
    splitter = LineSplitter()
    text = "première ligne\r\nzweite Zeile\nno newline".encode()
    out: list[str] = []
    for index in range(len(text)):
        out += splitter.feed(text[index : index + 1])
    out += splitter.flush()
    assert out == ["première ligne", "zweite Zeile", "no newline"]


def test_the_request_body_holds_only_what_was_given() -> None:
    body = request_body(
        images=["a:1", "b:2", "c:3"],
        image_stream="",
        node_name="",
        timeout="15m",
        name="plan:x",
        since="",
        command=["PLAN=my plan", "/usr/bin/targeted"],
    )
    assert body == {
        "image": "a:1",
        "images": ["b:2", "c:3"],
        "timeout": "15m",
        "custom-name": "plan:x",
        "command": "'PLAN=my plan' /usr/bin/targeted",
    }


def test_middle_ellipsis_keeps_both_ends_within_the_width() -> None:
    core = "core.crash.0.5f0c0ad4a6a84b0f9a3d6e0d1c2b3a49.20773.1796397266546008.zst"
    assert middle_ellipsis("must-gather.tar.gz", 40) == "must-gather.tar.gz"
    fitted = middle_ellipsis(core, 21)
    assert fitted == "core.crash…546008.zst"
    assert len(fitted) == 21
    assert len(middle_ellipsis(core, 12)) == 12


def test_the_request_body_asks_for_cores_only_when_wanted() -> None:
    def body(cores: str) -> dict[str, Any]:
        return request_body(
            images=[],
            image_stream="",
            node_name="",
            timeout="",
            name="",
            since="",
            command=[],
            cores=cores,
        )

    assert body("all") == {"cores": "all"}
    assert body("metadata") == {"cores": "metadata"}
    assert body("none") == {}
    assert body("") == {}

"""The one pass as a gathering's archive is built (``onepass_job.build_gathering``): the
events page made from the copies is the page the executor makes from the extracted tree, and
copies holding an image's own archive are unpacked for it to be served as it is."""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path

import pytest

from must_gather_api.archive import event_filter, onepass, onepass_job

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


def a_copy(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def events(*items: tuple[str, str, str]) -> bytes:
    return json.dumps(
        {
            "items": [
                {"reason": reason, "message": message, "lastTimestamp": when}
                for when, reason, message in items
            ]
        }
    ).encode()


def a_tree(root: Path, folders: list[str]) -> Path:
    for folder in folders:
        (root / folder).mkdir(parents=True)
        (root / folder / "gather.logs").write_text("log\n")
    (root / "must-gather.logs").write_text("oc's log\n")
    return root


async def build(tree: Path, sources: list[onepass.Source], out: Path) -> object:
    return await onepass_job.build_gathering(
        tree,
        sources,
        out / "archive",
        partial=out / "archive.partial",
        index_path=out / "archive.index",
        limit=None,
        max_entries=None,
        deadline=time.monotonic() + 30,
        own_archive="must-gather.tar.gz",
    )


async def test_the_events_page_is_the_one_of_the_extracted_tree(tmp_path: Path) -> None:
    folders = ["image-a", "image-b"]
    sources = [
        onepass.Source(
            a_copy(
                tmp_path / "copy-a.tar",
                {
                    "ns1/core/events.yaml": events(("2026-01-02", "BackOff", "<b>x</b>")),
                    "ns2/core/events.yaml": b"items:\n- {reason: Unhealthy, message: y}\n",
                    "linked/events.yaml": events(("2026-01-09", "Hidden", "under a link")),
                },
                links={"linked": "/etc"},
            ),
            "image-a",
        ),
        onepass.Source(
            a_copy(
                tmp_path / "copy-b.tar",
                {
                    "ns3/events.yaml": events(
                        ("2026-01-01", "Failed", "z"), ("2026-01-03", "Ok", "w")
                    )
                },
            ),
            "image-b",
        ),
    ]
    extracted = a_tree(tmp_path / "extracted", folders)
    onepass.extract_all(extracted, sources, limit=None, max_entries=None)
    expected = event_filter.render_rows(event_filter.tree_rows(extracted))
    out = tmp_path / "out"
    out.mkdir()

    built = await build(a_tree(tmp_path / "tree", folders), sources, out)

    assert isinstance(built, onepass_job.Streamed) and built.one_pass
    with tarfile.open(out / "archive") as tar:
        names = tar.getnames()
        page = tar.extractfile("must-gather/event-filter.html")
        assert page is not None
        served = page.read().decode()
    assert names.count("must-gather/event-filter.html") == 1
    assert names.index("must-gather/event-filter.html") < 6  # at the root, among the first
    assert "<h1>Events (4)</h1>" in served and "under a link" not in served
    assert served == expected


async def test_a_copy_holding_the_images_own_archive_is_unpacked_not_packed(
    tmp_path: Path,
) -> None:
    sources = [
        onepass.Source(
            a_copy(tmp_path / "copy.tar", {"must-gather.tar.gz": b"\x1f\x8b the image's"}),
            "forklift",
        )
    ]
    tree = a_tree(tmp_path / "tree", ["forklift"])
    out = tmp_path / "out"
    out.mkdir()

    built = await build(tree, sources, out)

    assert isinstance(built, onepass_job.Unpacked)
    assert [e.files for e in built.extracted] == [1]
    assert (tree / "forklift" / "must-gather.tar.gz").read_bytes() == b"\x1f\x8b the image's"
    assert (tree / "event-filter.html").is_file()  # as the executor writes it into a tree
    assert list(out.iterdir()) == []


async def test_two_archives_of_that_name_are_packed_as_any_data(tmp_path: Path) -> None:
    sources = [
        onepass.Source(
            a_copy(
                tmp_path / "copy.tar", {"a/must-gather.tar.gz": b"1", "b/must-gather.tar.gz": b"2"}
            ),
            "image",
        )
    ]
    out = tmp_path / "out"
    out.mkdir()

    built = await build(a_tree(tmp_path / "tree", ["image"]), sources, out)

    assert isinstance(built, onepass_job.Streamed)
    assert sorted(p.name for p in out.iterdir()) == ["archive", "archive.index"]

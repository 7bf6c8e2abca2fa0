"""The raw copies a gathering keeps: only recorded ones count, a pod copied again replaces
its earlier copy, and removing them takes copies and records alike."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from must_gather_api.archive import raw_copies
from must_gather_api.gatherings.layout import Layout


def a_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_only_recorded_copies_count_in_the_order_they_were_recorded(tmp_path: Path) -> None:
    first = a_tar(tmp_path / "copy-pod-b-00000001.tar", {"a": b"1"})
    second = a_tar(tmp_path / "copy-pod-a-00000002.tar", {"b": b"22"})
    cut_short = a_tar(tmp_path / "copy-pod-c-00000003.tar", {"c": b"333"})
    raw_copies.record(first, folder="image", pod="pod-b")
    raw_copies.record(second, folder="image-2", pod="pod-a")
    os.utime(first.with_name(first.name + raw_copies.RECORD), ns=(1, 1))

    found = raw_copies.recorded(tmp_path)

    assert [(c.tar, c.folder, c.pod) for c in found] == [
        (first, "image", "pod-b"),
        (second, "image-2", "pod-a"),
    ]
    assert cut_short.exists()  # never used, removed with the work tree
    assert raw_copies.kept_bytes(tmp_path) == first.stat().st_size + second.stat().st_size


def test_a_pod_copied_again_replaces_its_earlier_copy(tmp_path: Path) -> None:
    earlier = a_tar(tmp_path / "copy-pod-a-00000001.tar", {"a": b"old"})
    other = a_tar(tmp_path / "copy-pod-b-00000002.tar", {"b": b"other"})
    raw_copies.record(earlier, folder="image", pod="pod-a")
    raw_copies.record(other, folder="image-2", pod="pod-b")
    again = a_tar(tmp_path / "copy-pod-a-00000003.tar", {"a": b"new"})

    raw_copies.record(again, folder="image", pod="pod-a")

    assert [c.tar for c in raw_copies.recorded(tmp_path)] == [other, again]
    assert not earlier.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "copy-pod-a-00000003.tar",
        "copy-pod-a-00000003.tar.source",
        "copy-pod-b-00000002.tar",
        "copy-pod-b-00000002.tar.source",
    ]


def test_removing_the_work_takes_the_copies_and_their_records(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    directory = layout.prepare(3)
    kept = a_tar(directory / "copy-pod-a-00000001.tar", {"a": b"1"})
    raw_copies.record(kept, folder="image", pod="pod-a")
    a_tar(directory / "copy-pod-b-00000002.tar", {"b": b"2"})  # cut short, unrecorded
    layout.archive(3).write_bytes(b"archive")

    layout.remove_work(3)

    assert sorted(p.name for p in directory.iterdir()) == ["archive"]
    assert raw_copies.recorded(directory) == []


def test_files_of_a_name_are_counted_from_the_headers(tmp_path: Path) -> None:
    one = a_tar(
        tmp_path / "one.tar",
        {"must-gather/must-gather.tar.gz": b"gz", "./other/must-gather.tar.gz.txt": b"x"},
    )
    two = a_tar(tmp_path / "two.tar", {"deep/er/must-gather.tar.gz": b"gz", "../x": b"y"})

    assert raw_copies.files_named([one], "must-gather.tar.gz", max_entries=None) == 1
    assert raw_copies.files_named([one, two], "must-gather.tar.gz", max_entries=None) == 2

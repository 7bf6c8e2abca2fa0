"""A gathering's files under DATA_DIR: what removing its work leaves."""

from __future__ import annotations

from pathlib import Path

from must_gather_api.gatherings.layout import Layout


def test_removing_the_work_takes_every_scratch_copy_and_keeps_the_archive(
    tmp_path: Path,
) -> None:
    layout = Layout(tmp_path)
    directory = layout.prepare(7)
    (layout.work_dir(7) / "version").write_text("4.18\n")
    # One left by a process killed while copying, one by the process that resumed.
    for name in ("copy-must-gather-abcde-0badc0de.tar", "copy-must-gather-abcde-5eed1e55.tar"):
        (directory / name).write_bytes(b"tar")
    layout.archive(7).write_bytes(b"archive")
    layout.output_log(7).write_text("output\n")

    layout.remove_work(7)

    assert sorted(p.name for p in directory.iterdir()) == ["archive", "output.log"]

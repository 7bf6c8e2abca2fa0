"""Where a gathering's files live under DATA_DIR.

    <data_dir>/gatherings/<id>/output.log      everything the gathering printed
    <data_dir>/gatherings/<id>/work/           the gathered tree, as the executor wrote it
    <data_dir>/gatherings/<id>/archive         the archive served by /data
    <data_dir>/gatherings/<id>/archive.partial the archive while it is written
    <data_dir>/gatherings/<id>/archive.index   its members and restart points (archive.index)
    <data_dir>/gatherings/<id>/summary.json    the findings of analysis over it
    <data_dir>/gatherings/<id>/summary.brief.json  their counts, for the gathering object
    <data_dir>/gatherings/<id>/repack/         an image's unsafe archive, while re-packed
    <data_dir>/gatherings/<id>/redaction-report.yaml  what redaction replaced (admins only)
    <data_dir>/gatherings/<id>/archive.original  the un-redacted archive, when kept
    <data_dir>/gatherings/<id>/copy-<pod>-<random>.tar  a pod's output: while it is copied,
                                               and, recorded (``.source``), until it is packed

Paths are derived from the id and never stored or shown, so no response can reveal
the filesystem and a record cannot point outside DATA_DIR.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

# The executor's name for a pod's output while it is copied (one per copy, in the
# gathering's directory beside work/), and for its record (archive.raw_copies).
SCRATCH_COPIES = "copy-*.tar*"


@dataclass(frozen=True)
class Layout:
    data_dir: Path

    @property
    def root(self) -> Path:
        return self.data_dir / "gatherings"

    def directory(self, gathering_id: int) -> Path:
        return self.root / str(gathering_id)

    def output_log(self, gathering_id: int) -> Path:
        return self.directory(gathering_id) / "output.log"

    def work_dir(self, gathering_id: int) -> Path:
        return self.directory(gathering_id) / "work"

    def archive(self, gathering_id: int) -> Path:
        return self.directory(gathering_id) / "archive"

    def partial_archive(self, gathering_id: int) -> Path:
        return self.directory(gathering_id) / "archive.partial"

    def archive_index(self, gathering_id: int) -> Path:
        return self.directory(gathering_id) / "archive.index"

    def summary(self, gathering_id: int) -> Path:
        return self.directory(gathering_id) / "summary.json"

    def summary_brief(self, gathering_id: int) -> Path:
        return self.directory(gathering_id) / "summary.brief.json"

    def repack_dir(self, gathering_id: int) -> Path:
        """Where an image's own archive is unpacked to be packed again safely."""
        return self.directory(gathering_id) / "repack"

    def redaction_report(self, gathering_id: int) -> Path:
        return self.directory(gathering_id) / "redaction-report.yaml"

    def original_archive(self, gathering_id: int) -> Path:
        return self.directory(gathering_id) / "archive.original"

    def prepare(self, gathering_id: int) -> Path:
        """A fresh, empty directory for a new gathering (blocking: call off the loop)."""
        directory = self.directory(gathering_id)
        if directory.exists():
            shutil.rmtree(directory)
        self.work_dir(gathering_id).mkdir(parents=True)
        return directory

    def ensure(self, gathering_id: int) -> Path:
        """The gathering's directory, created if missing, kept if present (blocking)."""
        self.work_dir(gathering_id).mkdir(parents=True, exist_ok=True)
        return self.directory(gathering_id)

    def remove(self, gathering_id: int) -> None:
        """Remove everything of a gathering (blocking: call off the loop)."""
        shutil.rmtree(self.directory(gathering_id), ignore_errors=True)

    def remove_work(self, gathering_id: int) -> None:
        """The gathered tree, and the copies of pods' output: the raw copies the archive was
        built from, and any a process killed while copying left behind unrecorded."""
        shutil.rmtree(self.work_dir(gathering_id), ignore_errors=True)
        for scratch in self.directory(gathering_id).glob(SCRATCH_COPIES):
            scratch.unlink(missing_ok=True)

    def remove_archive(self, gathering_id: int) -> None:
        self.archive(gathering_id).unlink(missing_ok=True)
        self.partial_archive(gathering_id).unlink(missing_ok=True)
        self.archive_index(gathering_id).unlink(missing_ok=True)
        self.summary(gathering_id).unlink(missing_ok=True)
        self.summary_brief(gathering_id).unlink(missing_ok=True)
        self.redaction_report(gathering_id).unlink(missing_ok=True)
        self.original_archive(gathering_id).unlink(missing_ok=True)

    def existing_ids(self) -> set[int]:
        """Ids that have a directory (blocking: call off the loop)."""
        if not self.root.is_dir():
            return set()
        return {int(entry.name) for entry in self.root.iterdir() if _names_an_id(entry.name)}


def _names_an_id(name: str) -> bool:
    # Only the exact name ``directory`` gives: "01" or "\u0661" read as an id would be
    # "removed" as directory "1" every round, and stay.
    return name.isascii() and name.isdecimal() and name == str(int(name))

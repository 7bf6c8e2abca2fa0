"""How the Forklift image ends: one ``must-gather.tar.gz`` in /must-gather, nothing else."""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

from kubesim_gather.container import container_path, must_gather_dir, say

ARCHIVE_NAME = "must-gather.tar.gz"


def remove_empty(out: Path) -> None:
    """Deletes empty files, then empty directories (deepest first), as ``find -empty`` does."""
    for dirpath, dirnames, filenames in os.walk(out, topdown=False):
        here = Path(dirpath)
        for name in filenames:
            path = here / name
            if path.is_file() and not path.is_symlink() and path.stat().st_size == 0:
                say(str(Path("/must-gather") / path.relative_to(out)))
                path.unlink()
        for name in dirnames:
            path = here / name
            if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
                say(str(Path("/must-gather") / path.relative_to(out)))
                path.rmdir()


def pack() -> Path:
    """``tar -zcf`` of /must-gather/ (entries ``must-gather/...``), then only the archive stays."""
    out = must_gather_dir()
    say("Tarring must-gather artifacts...")
    staging = container_path("/must-gather-archive")
    staging.mkdir(parents=True, exist_ok=True)
    staged = staging / ARCHIVE_NAME
    # /must-gather is a volume (a symlink in kubesim); archive what it points at.
    with tarfile.open(staged, "w:gz", compresslevel=6) as tar:
        tar.add(os.path.realpath(out), arcname="must-gather")
    for child in out.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    final = out / ARCHIVE_NAME
    shutil.move(str(staged), final)
    staging.rmdir()
    say(f"Created /must-gather/{ARCHIVE_NAME}")
    return final

"""The hostile archives kubesim's misbehaving images make, for tests that feed them to the
service's code directly: each is what the image's own script writes, run on this host."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from kubesim.images import builtin
from kubesim.images.catalogue import ImageCatalogue


def _script(image: str, name: str) -> Path:
    resolved = ImageCatalogue.default().resolve(image)
    assert resolved is not None, image
    return resolved.root / "usr" / "bin" / name


def hostile_tar() -> bytes:
    """The stream the hostile-tar image's own ``tar`` sends: a pax size of -1536."""
    done = subprocess.run(
        [str(_script(builtin.HOSTILE_TAR, "tar")), "-C", "/must-gather/", "-c", "."],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return done.stdout


def unsafe_archive(root: Path) -> Path:
    """The must-gather.tar.gz the unsafe-archive image packs, written under ``root``."""
    subprocess.run(
        [str(_script(builtin.UNSAFE_ARCHIVE, "gather"))],
        env={**os.environ, "KUBESIM_ROOT": str(root)},
        capture_output=True,
        check=True,
        timeout=30,
    )
    return root / "must-gather" / "must-gather.tar.gz"

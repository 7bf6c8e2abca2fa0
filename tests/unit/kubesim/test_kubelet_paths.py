"""The path mapping: container paths to host paths, in argv, scripts and tar member names."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from kubesim.kubelet.paths import Mount, PathMap
from kubesim.kubelet.rootfs import (
    SERVICE_ACCOUNT_DIR,
    ServiceAccountFiles,
    build_container_root,
)


@pytest.fixture
def layout(tmp_path: Path) -> tuple[PathMap, Path, Path, Path]:
    image = tmp_path / "image"
    (image / "usr" / "bin").mkdir(parents=True)
    (image / "usr" / "bin" / "gather").write_text("#!/bin/sh\necho gathered\n")
    (image / "usr" / "bin" / "gather").chmod(0o755)
    (image / "etc").mkdir()
    (image / "etc" / "release").write_text("kubesim\n")
    volume = tmp_path / "volumes" / "out"
    volume.mkdir(parents=True)
    root = tmp_path / "root"
    build_container_root(
        root,
        image_root=image,
        mounts={"/must-gather": volume},
        service_account=ServiceAccountFiles("tok", b"CA", "ns1"),
    )
    return PathMap(root, [Mount("/must-gather", volume)]), root, volume, image


def test_mounts_map_to_the_volume_and_image_files_to_the_root(
    layout: tuple[PathMap, Path, Path, Path],
) -> None:
    paths, root, volume, _ = layout
    assert paths.to_host("/must-gather") == str(volume)
    assert paths.to_host("/must-gather/") == f"{volume}/"
    assert paths.to_host("/must-gather/a/../b") == f"{volume}/b"
    assert paths.to_host("/usr/bin/gather") == f"{root}/usr/bin/gather"
    assert paths.to_host("/") == str(root)
    # A new file whose directory exists in the container (and not on the host) is the root's.
    assert paths.to_host("/tmp/new-file-kubesim-test") == f"{root}/tmp/new-file-kubesim-test"


def test_host_paths_stay_the_hosts(layout: tuple[PathMap, Path, Path, Path]) -> None:
    paths, *_ = layout
    for host_path in ("/bin/sh", "/usr/bin/tar", "/dev/null", "/proc/self/fd", "relative/x"):
        assert paths.to_host(host_path) is None, host_path
    assert paths.map_arg("/bin/sh") == "/bin/sh"


def test_argv_options_and_shell_scripts_are_rewritten(
    layout: tuple[PathMap, Path, Path, Path],
) -> None:
    paths, root, volume, _ = layout
    argv = paths.map_argv(["/usr/bin/gather", "--dest-dir=/must-gather/x", "-C", "/must-gather"])
    assert argv == [f"{root}/usr/bin/gather", f"--dest-dir={volume}/x", "-C", str(volume)]

    script = (
        'OUT=/must-gather; /usr/bin/gather > "/must-gather/log" 2>&1; '
        "cat '/etc/release' | tee /dev/null; echo ${KUBESIM_ROOT}/must-gather; sed s/a/b/"
    )
    mapped = paths.map_argv(["/bin/bash", "-o", "pipefail", "-ec", script, "name"])
    assert mapped[:4] == ["/bin/bash", "-o", "pipefail", "-ec"]
    assert mapped[4] == (
        f'OUT={volume}; {root}/usr/bin/gather > "{volume}/log" 2>&1; '
        f"cat '{root}/etc/release' | tee /dev/null; echo ${{KUBESIM_ROOT}}/must-gather; sed s/a/b/"
    )
    # Without -c the words are files, not a script.
    assert paths.map_argv(["sh", "/must-gather/run.sh"]) == ["sh", f"{volume}/run.sh"]


def test_working_dir(layout: tuple[PathMap, Path, Path, Path]) -> None:
    paths, root, volume, _ = layout
    assert paths.working_dir(None) == root
    assert paths.working_dir("/must-gather") == volume
    assert paths.working_dir("/opt/app") == root / "opt" / "app"


def test_container_root_holds_image_mounts_and_service_account(
    layout: tuple[PathMap, Path, Path, Path],
) -> None:
    _, root, volume, image = layout
    assert (root / "usr").is_symlink() and (root / "usr").resolve() == image / "usr"
    assert (root / "must-gather").is_symlink()
    assert (root / "must-gather").resolve() == volume
    assert (root / "tmp").is_dir() and not (root / "tmp").is_symlink()
    sa = Path(f"{root}{SERVICE_ACCOUNT_DIR}")
    assert (sa / "token").read_text() == "tok"
    assert (sa / "ca.crt").read_bytes() == b"CA"
    assert (sa / "namespace").read_text() == "ns1"
    # var/run/... is a real directory tree, so writing the token never touched the image.
    assert not (image / "var").exists()


def test_tar_member_names_read_as_in_the_container(
    layout: tuple[PathMap, Path, Path, Path],
) -> None:
    paths, _, volume, _ = layout
    (volume / "sub").mkdir()
    (volume / "sub" / "data.bin").write_bytes(os.urandom(1000))
    os.link(volume / "sub" / "data.bin", volume / "hard.bin")
    env = {"PATH": os.environ["PATH"], "TAR_OPTIONS": paths.tar_options()}
    for operand in ("/must-gather", "/must-gather/"):
        out = subprocess.run(
            ["tar", "cf", "-", paths.map_arg(operand)], env=env, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(out)) as tar:
            members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {
            "must-gather",
            "must-gather/sub",
            "must-gather/sub/data.bin",
            "must-gather/hard.bin",
        }
        links = [m for m in members.values() if m.islnk()]
        assert [link.linkname for link in links] in (
            ["must-gather/sub/data.bin"],
            ["must-gather/hard.bin"],
        )

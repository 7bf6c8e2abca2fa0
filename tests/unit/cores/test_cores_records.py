"""Core metadata: what the node program reads, what the API shows, filters and order."""

from __future__ import annotations

import json
import lzma
import os
from pathlib import Path

import lz4.frame  # type: ignore[import-untyped]
import pytest
import zstandard

from must_gather_api.cores import nodeprogram, records
from must_gather_api.cores.decompression import decompressed_name, decompressor_for
from must_gather_api.errors import UnsupportedCompression

pytestmark = pytest.mark.timeout(30)

CORE_ID = "core.app.0.5f0c0ad4a6a84b0f9a3d6e0d1c2b3a49.4242.1700000000000000.zst"
CONTAINER_ID = "ab" * 32


def _node(tmp_path: Path) -> tuple[Path, Path, Path]:
    cores, journal, runtime = tmp_path / "cores", tmp_path / "journal", tmp_path / "runtime"
    for d in (cores, journal, runtime / CONTAINER_ID / "userdata"):
        d.mkdir(parents=True)
    core = cores / CORE_ID
    core.write_bytes(b"core bytes")
    for key, value in {"pid": "4242", "signal": "6", "comm": "app", "hostname": "web-1"}.items():
        os.setxattr(core, f"user.coredump.{key}", value.encode())
    entry = {
        "MESSAGE_ID": "fc2e22bc6ee647b6b90729ab34a250b1",
        "COREDUMP_FILENAME": f"/var/lib/systemd/coredump/{CORE_ID}",
        "COREDUMP_ENVIRON": "DB_PASSWORD=secret\nPATH=/bin",
        "COREDUMP_TIMESTAMP": "1700000000000000",
        "COREDUMP_CONTAINER_CMDLINE": (
            f"/usr/bin/conmon -b /x -c {CONTAINER_ID} -n k8s_app_web-1_shop_uid-1_0 -s"
        ),
    }
    (journal / "kubesim-coredump.json").write_text(
        json.dumps({"MESSAGE_ID": "other"}) + "\nnot json\n" + json.dumps(entry) + "\n"
    )
    config = {
        "process": {"env": ["DB_PASSWORD=secret"]},
        "annotations": {"io.kubernetes.cri-o.ImageName": "quay.io/shop/app:1.0"},
    }
    (runtime / CONTAINER_ID / "userdata" / "config.json").write_text(json.dumps(config))
    return cores, journal, runtime


def test_the_node_program_reads_xattrs_journal_and_runtime_state(tmp_path: Path) -> None:
    cores, journal, runtime = _node(tmp_path)
    (cores / "not-a-core").write_text("x")
    (cores / ".#core.partial").write_text("x")
    found = nodeprogram.list_cores(str(cores), str(journal), str(runtime), "")
    assert len(found) == 1
    core = found[0]
    assert core["id"] == CORE_ID
    assert core["COREDUMP_PID"] == "4242"  # from the xattr
    assert core["COREDUMP_TIMESTAMP"] == "1700000000000000"  # from the journal
    assert (core["pod"], core["container"], core["namespace"]) == ("web-1", "app", "shop")
    assert core["image_name"] == "quay.io/shop/app:1.0"
    assert core["size"] == len(b"core bytes")
    assert "secret" not in json.dumps(found)


def test_the_namespace_regex_matches_whole_names(tmp_path: Path) -> None:
    cores, journal, runtime = _node(tmp_path)
    assert nodeprogram.list_cores(str(cores), str(journal), str(runtime), "sho") == []
    assert len(nodeprogram.list_cores(str(cores), str(journal), str(runtime), "sh.*")) == 1


@pytest.mark.parametrize(
    "core_id", ["../etc/passwd", "core.a/b", "core..", "vmlinux", "core.", ".#core.x"]
)
def test_ids_that_are_not_core_files_are_refused(core_id: str) -> None:
    assert not records.valid_core_id(core_id)


def test_public_keeps_koredump_keys_only_and_types_numbers() -> None:
    raw = {
        "COREDUMP_SIGNAL": "11",
        "COREDUMP_PID": "7",
        "COREDUMP_ENVIRON": "TOKEN=x",
        "COREDUMP_FILENAME": "/var/lib/systemd/coredump/core.a",
        "id": "core.a",
        "pod": "p",
        "size": 3,
        "node": "liar",
        "crio": {"process": {"env": ["TOKEN=x"]}},
    }
    shown = records.public(raw, "worker-0")
    assert shown == {
        "COREDUMP_PID": 7,
        "COREDUMP_SIGNAL": 11,
        "COREDUMP_SIGNAL_NAME": "SIGSEGV",
        "id": "core.a",
        "node": "worker-0",
        "pod": "p",
    }


def test_filters_and_oldest_first() -> None:
    cores = [
        {"id": "core.b", "node": "n", "namespace": "a", "pod": "p1", "COREDUMP_TIMESTAMP": 2},
        {"id": "core.a", "node": "n", "namespace": "b", "pod": "p2", "COREDUMP_TIMESTAMP": 1},
    ]
    assert [c["id"] for c in records.oldest_first(cores)] == ["core.a", "core.b"]
    assert records.matches(cores[0], namespace="a", pod="")
    assert not records.matches(cores[0], namespace="a.*", pod="")  # exact, as koredump's
    assert not records.matches(cores[0], namespace="", pod="p2")


def test_decompressors_undo_each_compression_in_pieces() -> None:
    data = os.urandom(5000) + b"x" * 100_000
    for core_id, packed in (
        ("core.a.zst", zstandard.ZstdCompressor().compress(data)),
        ("core.a.lz4", lz4.frame.compress(data)),
        ("core.a.xz", lzma.compress(data)),
    ):
        decompressor = decompressor_for(core_id)
        pieces: list[bytes] = []
        for i in range(0, len(packed), 1000):
            decompressor.feed(packed[i : i + 1000], pieces.append)
        assert b"".join(pieces) == data, core_id
        assert decompressed_name(core_id) == "core.a"
    with pytest.raises(UnsupportedCompression):
        decompressor_for("core.a.gz")

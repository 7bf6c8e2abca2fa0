"""The guard on every error-reason: no file names, no exception class names."""

from __future__ import annotations

from pathlib import Path

import pytest

from must_gather_api.reasons import HIDDEN, public_reason

pytestmark = pytest.mark.timeout(10)


def test_an_os_error_keeps_its_words_and_loses_its_file_names() -> None:
    reason = (
        "the executor failed unexpectedly: FileNotFoundError: [Errno 2] No such file or "
        "directory: '/srv/data/gatherings/1/copy-must-gather-abc.tar'"
    )
    assert public_reason(reason) == "the executor failed unexpectedly: No such file or directory"
    moved = "[Errno 18] Invalid cross-device link: 'a/b' -> '/c/d'; and more"
    assert public_reason(moved) == "Invalid cross-device link; and more"


def test_the_service_s_own_directories_are_hidden_however_spelt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    reason = f"cannot write data/gatherings/1/work and {tmp_path}/data/gatherings/1/archive"
    assert public_reason(reason, hidden=[Path("data")]) == f"cannot write {HIDDEN} and {HIDDEN}"


def test_class_names_go_and_cluster_words_stay() -> None:
    assert public_reason("recovery failed: PermissionError: denied") == "recovery failed: denied"
    assert public_reason("x: aiohttp.client_exceptions.ClientError: refused") == "x: refused"
    kept = (
        "pod p: CreateContainerConfigError; image-stream 'openshift/must-gather': no tag; "
        "the data of pod q; tar: /must-gather/: Cannot open"
    )
    assert public_reason(kept, hidden=[Path("data")]) == kept

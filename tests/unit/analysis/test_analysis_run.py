from __future__ import annotations

import io
from pathlib import Path

import pytest

from must_gather_api.analysis import run
from must_gather_api.analysis.model import Severity, Summary
from must_gather_api.analysis.source import ArchiveFiles
from must_gather_api.archive.packing import pack
from support.archives import NOW, condition, dump, listed


def test_a_whole_archive_read_from_its_offsets(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    image = tree / "origin"
    (image / "cluster-scoped-resources/config.openshift.io/clusteroperators").mkdir(parents=True)
    (image / "namespaces/app/core").mkdir(parents=True)
    (tree / "must-gather.logs").write_text("out\n")
    (image / "version").write_text("openshift/must-gather\n4.18.0\n")
    operator = {
        "kind": "ClusterOperator",
        "metadata": {"name": "dns"},
        "status": {"conditions": [condition("Degraded", "True", "x")]},
    }
    (image / "cluster-scoped-resources/config.openshift.io/clusteroperators/dns.yaml").write_text(
        dump(operator)
    )
    (image / "namespaces/app/core/pods.yaml").write_text(listed("Pod", []))
    packed = pack(tree, tmp_path / "archive", partial=tmp_path / "partial", limit=None)
    assert packed.index is not None
    summary = run.analyze_archive(tmp_path / "archive", packed.index, NOW)
    assert [(f.object, f.reason) for f in summary.findings] == [("ClusterOperator/dns", "Degraded")]
    assert [p.version for p in summary.products] == ["4.18.0"]
    assert summary.counts() == {"error": 1, "warning": 0, "info": 0}
    assert Summary.from_json(summary.to_json()) == summary


def test_one_failing_analyzer_leaves_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_files: ArchiveFiles, _now: object) -> list[object]:
        raise KeyError("surprise")

    monkeypatch.setitem(run.ANALYZERS, "nodes", broken)
    summary = run.analyze(ArchiveFiles.from_contents({"must-gather/x": ""}), NOW)
    assert summary.errors == ("the nodes analyzer could not finish",)
    assert [f.severity for f in summary.findings] == [Severity.WARNING]  # no version file


def test_unreadable_yaml_and_huge_files_read_as_nothing() -> None:
    files = ArchiveFiles.from_contents({"a.yaml": ": : :\n\t- [", "b": io.BytesIO(b"x").getvalue()})
    assert files.yaml("a.yaml") is None
    files.sizes["b"] = 1 << 40
    assert files.read("b") == b""

"""`must-gather-api redact`: a local archive or directory, redacted offline."""

from __future__ import annotations

import tarfile
from pathlib import Path

from typer.testing import CliRunner

from must_gather_api.cli import main
from support.executors import SENSITIVE, write_sensitive_tree
from support.redacted import every_member, leaks


def contents(archive: Path) -> dict[str, bytes]:
    return every_member(archive.read_bytes())


def test_an_archive_is_redacted_and_the_report_replays(tmp_path: Path) -> None:
    tree = tmp_path / "must-gather.local.42"
    write_sensitive_tree(tree)
    source = tmp_path / "mg.tar.gz"
    with tarfile.open(source, "w:gz") as tar:
        tar.add(tree, arcname=tree.name)
    out = tmp_path / "clean.tar.gz"
    result = CliRunner().invoke(main.app, ["redact", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "report (private)" in result.output
    first = contents(out)
    assert "must-gather.local.42/watermark.txt" in first
    assert leaks(first, SENSITIVE) == []
    report = tmp_path / "clean.tar.gz.report.yaml"
    again = tmp_path / "again.tar.gz"
    replayed = CliRunner().invoke(
        main.app, ["redact", str(source), "-o", str(again), "--config", str(report)]
    )
    assert replayed.exit_code == 0, replayed.output
    second = contents(again)
    # The same replacements (the watermark's time aside).
    first.pop("must-gather.local.42/watermark.txt")
    second.pop("must-gather.local.42/watermark.txt")
    assert second == first


def test_a_directory_keeps_its_name_and_errors_exit_non_zero(tmp_path: Path) -> None:
    tree = tmp_path / "gathered"
    write_sensitive_tree(tree)
    out = tmp_path / "out.tar.gz"
    report = tmp_path / "private" / "report.yaml"
    report.parent.mkdir()
    result = CliRunner().invoke(
        main.app, ["redact", str(tree), "-o", str(out), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "gathered/watermark.txt" in contents(out)
    assert report.is_file()
    bad = tmp_path / "bad.yaml"
    bad.write_text("config:\n  obfuscate:\n    - type: Nope\n")
    refused = CliRunner().invoke(
        main.app, ["redact", str(tree), "-o", str(out), "--config", str(bad)]
    )
    assert refused.exit_code == 2
    assert "line 3" in refused.output
    missing = CliRunner().invoke(main.app, ["redact", str(tmp_path / "no"), "-o", str(out)])
    assert missing.exit_code == 2
    not_an_archive = tmp_path / "x.tar.gz"
    not_an_archive.write_bytes(b"not a tar")
    broken = CliRunner().invoke(main.app, ["redact", str(not_an_archive), "-o", str(out)])
    assert broken.exit_code == 1

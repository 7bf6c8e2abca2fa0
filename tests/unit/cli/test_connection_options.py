"""The connection options' environment variables reach the client (the demo's exports)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from must_gather_api.cli import main


def test_the_ca_file_comes_from_the_environment_too(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.crt"
    result = CliRunner().invoke(
        main.app,
        ["get", "1"],
        env={
            "MUST_GATHER_API_URL": "https://127.0.0.1:9",
            "MUST_GATHER_API_TOKEN": "t",
            "MUST_GATHER_API_CA_FILE": str(missing),
            "HOME": str(tmp_path),
        },
    )
    assert result.exit_code == 2, result.output
    assert f"--ca-file {missing}: not a readable PEM CA bundle" in result.output

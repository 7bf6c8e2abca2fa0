"""`must-gather-api serve` and `must-gather-api settings`, without starting a server."""

from __future__ import annotations

import os
import re

import pytest
from typer.testing import CliRunner

from must_gather_api import cpus
from must_gather_api.cli import main, serving
from must_gather_api.settings import Settings

VARIABLES = [name.upper() for name in Settings.model_fields]


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Settings]]:
    """Servers `serve` would start, recorded instead; and an environment free of settings."""
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    calls: list[tuple[str, Settings]] = []
    monkeypatch.setattr(serving, "configure_logging", lambda settings: None)
    monkeypatch.setattr(
        serving, "serve_with_granian", lambda settings: calls.append(("granian", settings))
    )
    monkeypatch.setattr(
        serving, "serve_with_uvicorn", lambda settings: calls.append(("uvicorn", settings))
    )
    return calls


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main.app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TIMEOUT", "15x"),
        ("PORT", "abc"),
        ("CLEANUP_MAX_AGE", "forever"),
        ("MAX_CONCURRENT_GATHERINGS", "0"),
        ("API_TLS_KEY", "/tls/key.pem"),
        ("MUST_GATHER_IMAGE", "--bad"),
    ],
)
def test_bad_variable_exits_2_with_one_line_naming_it(
    started: list[tuple[str, Settings]], variable: str, value: str
) -> None:
    code, stdout, stderr = invoke("serve", env={variable: value})
    assert code == 2
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    prefix = "must-gather-api: configuration error: "
    assert lines[0].startswith(prefix), lines[0]
    # API_TLS_KEY alone is reported as the pair, which starts with API_TLS_CERTIFICATE.
    named = "API_TLS_CERTIFICATE" if variable == "API_TLS_KEY" else variable
    assert lines[0].removeprefix(prefix).startswith(named), lines[0]
    assert started == []


def test_auth_none_refuses_a_non_loopback_address(started: list[tuple[str, Settings]]) -> None:
    code, _, stderr = invoke("serve", env={"AUTH": "none", "HOST": "0.0.0.0"})
    assert code == 2
    assert len(stderr.splitlines()) == 1, stderr
    assert "AUTH=none" in stderr and "loopback" in stderr
    assert "0.0.0.0" in stderr and "HOST=127.0.0.1" in stderr
    assert started == []


def test_serving_cpus_that_leave_none_for_the_background_exit_2(
    started: list[tuple[str, Settings]],
) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    code, _, stderr = invoke("serve", env={"SERVING_CPUS": str(len(allowed))})
    assert code == 2
    assert stderr.splitlines() == [
        f"must-gather-api: configuration error: SERVING_CPUS={len(allowed)} leaves no CPU for "
        f"copying and packing: this process may run on {len(allowed)} "
        f"({cpus.listed(allowed)}); set it to at most {len(allowed) - 1}, or 0 for no "
        "reservation"
    ]
    assert started == []
    assert os.sched_getaffinity(0) == set(allowed)


def test_auth_none_on_a_port_with_a_public_host(started: list[tuple[str, Settings]]) -> None:
    code, _, stderr = invoke("serve", env={"AUTH": "none", "PORT": "192.0.2.1:9000"})
    assert code == 2
    assert "192.0.2.1" in stderr
    assert started == []


def test_auth_none_on_loopback_starts_with_a_warning(started: list[tuple[str, Settings]]) -> None:
    code, _, stderr = invoke(
        "serve", "--server", "uvicorn", env={"AUTH": "none", "PORT": "127.0.0.1:9000"}
    )
    assert code == 0, stderr
    assert "WARNING: AUTH=none" in stderr
    assert [server for server, _ in started] == ["uvicorn"]
    assert started[0][1].listen_address() == ("127.0.0.1", 9000)


def test_granian_is_the_default_server(started: list[tuple[str, Settings]]) -> None:
    code, _, stderr = invoke("serve", env={"TIMEOUT": "30m"})
    assert code == 0, stderr
    assert stderr == ""
    assert [server for server, _ in started] == ["granian"]
    assert started[0][1].timeout.total_seconds() == 1800


def test_serve_help_lists_every_variable(started: list[tuple[str, Settings]]) -> None:
    code, stdout, _ = invoke("serve", "--help", env={"COLUMNS": "200"})
    assert code == 0
    for variable in VARIABLES:
        assert re.search(rf"\b{variable}\b", stdout), variable
    # Defaults in brackets survive rich's markup.
    for default in ("[must-gather.tar.gz]", "[quay.io/kubev2v/forklift-must-gather]", "[false]"):
        assert default in stdout, default
    assert started == []


def test_settings_as_markdown_has_one_row_per_setting() -> None:
    code, stdout, _ = invoke("settings", "--markdown")
    assert code == 0
    lines = stdout.strip().splitlines()
    assert lines[:2] == ["| Variable | Default | Meaning |", "|---|---|---|"]
    rows = lines[2:]
    assert len(rows) == len(VARIABLES)
    names = []
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)
        assert len(cells) == 5 and cells[0] == "" and cells[-1] == "", row
        name = cells[1].strip()
        assert name.startswith("`") and name.endswith("`"), row
        names.append(name.strip("`"))
        assert cells[2].strip(), row
        assert cells[3].strip(), row
    assert names == VARIABLES


def test_settings_as_text_names_every_variable_with_its_default() -> None:
    code, stdout, _ = invoke("settings")
    assert code == 0
    for variable in VARIABLES:
        assert re.search(rf"^  {variable} ", stdout, re.MULTILINE), variable
    assert re.search(r"^  CLEANUP_MAX_AGE .*\[-1\]$", stdout, re.MULTILINE)
    assert re.search(r"^  PORT .*\[8443 with TLS, 8080 without\]$", stdout, re.MULTILINE)
    assert re.search(r"^  ALLOWED_ORIGINS .*\[\(not set\)\]$", stdout, re.MULTILINE)


def test_the_served_app_starts_with_its_startup_objects_out_of_the_collectors_sight() -> None:
    """Both servers serve ``_frozen(create_app(...))``: a full collection later walks only
    what requests and gatherings made, not every imported module (a pause of about 130 ms
    holding the interpreter lock, once the service was busy)."""
    import gc

    from fastapi import FastAPI

    app = FastAPI()
    assert gc.get_freeze_count() == 0
    try:
        assert serving._frozen(app) is app
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_granian_serves_the_app_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    import granian
    import uvloop
    from granian._loops import loops  # granian's own resolution of a loop name

    made: list[dict[str, object]] = []

    class Recorded:
        def __init__(self, target: str, **options: object) -> None:
            made.append(options)

        def serve(self) -> None:
            pass

    monkeypatch.setattr(granian, "Granian", Recorded)
    serving.serve_with_granian(Settings())
    assert len(made) == 1
    loop = loops.get(str(made[0]["loop"]))
    try:
        assert isinstance(loop, uvloop.Loop)  # the dependency installed, auto takes it
    finally:
        loop.close()

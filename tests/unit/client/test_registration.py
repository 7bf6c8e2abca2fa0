"""`must-gather-api` carries the client commands next to serve, demo and settings."""

from __future__ import annotations

import typer

from must_gather_api.cli.client_commands import app as client_app
from must_gather_api.cli.main import app

CLIENT_COMMANDS = {"run", "list", "get", "logs", "download", "cancel", "delete"}


def test_the_client_app_has_every_command() -> None:
    group = typer.main.get_group(client_app)
    assert set(group.commands) == CLIENT_COMMANDS


def test_must_gather_api_has_the_client_commands() -> None:
    group = typer.main.get_group(app)
    assert CLIENT_COMMANDS | {"serve", "demo", "settings"} <= set(group.commands)

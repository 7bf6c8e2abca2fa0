"""`must-gather-api`: the service (`serve`, `demo`, `settings`) and the client commands of
``client_commands``, in one Typer application."""

from __future__ import annotations

import asyncio
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from must_gather_api.cli import (
    archive_commands,
    client_commands,
    cores_commands,
    serving,
    settings_help,
)
from must_gather_api.errors import ConfigurationError
from must_gather_api.settings import AuthMode, load_settings

app = typer.Typer(
    name="must-gather-api",
    help="Run OpenShift/Kubernetes must-gather over HTTP: trigger, poll, download.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(client_commands.app)
app.add_typer(archive_commands.app)
app.add_typer(cores_commands.app)


class Server(StrEnum):
    GRANIAN = "granian"
    UVICORN = "uvicorn"


# Escaped: rich reads "[false]", "[./data]" and the like as markup tags and drops them.
@app.command(epilog=escape(settings_help.as_text()).replace("\n", "\n\n"))
def serve(
    server: Annotated[
        Server, typer.Option(help="HTTP server: granian (production) or uvicorn.")
    ] = Server.GRANIAN,
) -> None:
    """Run the service. Every setting comes from an environment variable (listed below)."""
    try:
        settings = load_settings()
    except ConfigurationError as e:
        typer.echo(f"must-gather-api: configuration error: {e.message}", err=True)
        raise typer.Exit(2) from e
    if settings.auth is AuthMode.NONE:
        if not settings.listens_on_loopback_only():
            host, _ = settings.listen_address()
            typer.echo(
                f"must-gather-api: configuration error: AUTH=none is only allowed when the "
                f"service listens on loopback; it would listen on {host} (set HOST=127.0.0.1)",
                err=True,
            )
            raise typer.Exit(2)
        typer.echo(
            "must-gather-api: WARNING: AUTH=none, every local caller may run must-gather",
            err=True,
        )
    serving.configure_logging(settings)
    if server is Server.GRANIAN:
        serving.serve_with_granian(settings)
    else:
        serving.serve_with_uvicorn(settings)


@app.command()
def demo(
    port: Annotated[
        int, typer.Option(help="Port of the service (kubesim takes a free one).")
    ] = 8080,
    tls_port: Annotated[
        int,
        typer.Option(
            help="Port where the same service answers over HTTPS (kubectl sends tokens only "
            "over HTTPS); 0: none."
        ),
    ] = 8443,
    state_dir: Annotated[
        Path | None, typer.Option(help="Keep the demo's state here (default: a new temp dir).")
    ] = None,
    kubernetes: Annotated[
        bool, typer.Option("--kubernetes", help="Plain Kubernetes instead of OpenShift.")
    ] = False,
) -> None:
    """Run the service against kubesim, a simulated cluster, with curl lines to try."""
    from must_gather_api.cli import demo as demo_module

    try:
        asyncio.run(
            demo_module.run(
                port=port, tls_port=tls_port, state_dir=state_dir, openshift=not kubernetes
            )
        )
    except ConfigurationError as e:
        typer.echo(f"must-gather-api: configuration error: {e.message}", err=True)
        raise typer.Exit(2) from e
    except KeyboardInterrupt:
        pass


@app.command("settings")
def show_settings(
    markdown: Annotated[bool, typer.Option(help="As a Markdown table.")] = False,
) -> None:
    """Print every setting with its default."""
    typer.echo(settings_help.as_markdown() if markdown else settings_help.as_text())


def main() -> None:
    sys.exit(app())

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

from must_gather_api import cpus
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
    try:
        # Before the server starts anything: its worker and threads inherit these CPUs.
        cpus.reserve(settings.serving_cpus)
    except cpus.CannotKeepCpus as e:
        typer.echo(f"must-gather-api: configuration error: {e}", err=True)
        raise typer.Exit(2) from e
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


@app.command()
def redact(
    source: Annotated[
        Path, typer.Argument(help="A must-gather archive (tar, tar.gz...) or directory.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="The redacted tar.gz to write.")],
    config: Annotated[
        Path | None,
        typer.Option(
            "-c",
            "--config",
            help="must-gather-clean configuration (YAML); default: IPs, MACs, the cluster's "
            "domain; Secrets, ConfigMaps, CSRs and MachineConfigs left out.",
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("-r", "--report", help="Where the report goes (default: OUTPUT.report.yaml)."),
    ] = None,
) -> None:
    """Redact a local must-gather, offline: the same cleaning as a gathering's `redact`.

    The report maps every replacement back to the real value: keep it, do not share it.
    Read back with --config, it reproduces the same replacements.
    """
    from must_gather_api.archive.index import IndexUnreadable
    from must_gather_api.gatherings.redacting import redact as redact_source
    from must_gather_api.redaction import DEFAULT_CONFIG, load_config_file

    try:
        rules = load_config_file(config, name="--config") if config else DEFAULT_CONFIG
    except ConfigurationError as e:
        typer.echo(f"must-gather-api: {e.message}", err=True)
        raise typer.Exit(2) from e
    if not source.exists():
        typer.echo(f"must-gather-api: {source} does not exist", err=True)
        raise typer.Exit(2)
    report_path = report or output.with_name(output.name + ".report.yaml")
    try:
        made = redact_source(
            source,
            output,
            partial=output.with_name(output.name + ".partial"),
            limit=None,
            config=rules,
            report=report_path,
            top=source.resolve().name if source.is_dir() else "must-gather",
        )
    except (IndexUnreadable, OSError) as e:
        typer.echo(f"must-gather-api: {source} cannot be redacted: {e}", err=True)
        raise typer.Exit(1) from e
    typer.echo(
        f"{output}: {made.packed.entries} members, {made.report.replaced} replacements, "
        f"{len(made.report.omissions)} files left out; report (private): {report_path}"
    )


@app.command("settings")
def show_settings(
    markdown: Annotated[bool, typer.Option(help="As a Markdown table.")] = False,
) -> None:
    """Print every setting with its default."""
    typer.echo(settings_help.as_markdown() if markdown else settings_help.as_text())


def main() -> None:
    sys.exit(app())

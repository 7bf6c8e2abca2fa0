"""`must-gather-api cores list|get|status`: koredumpctl's commands and options.

`-o json` for the raw list, `-1` for the newest core only, `-a` for every one, `-n` and `-p`
to filter by namespace and pod, `-d` to also save the decompressed core. The connection is
found as for every client command (`--server`, `$MUST_GATHER_API_URL`, the kubeconfig's
token). Exit codes as the other client commands (docs/cli.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from must_gather_api import __version__
from must_gather_api.cli.client_commands import Connection, _exits, connected_with
from must_gather_api.client import cores
from must_gather_api.client.errors import ClientError, UsageError
from must_gather_api.client.rendering import Format, warning_line

app = typer.Typer(
    name="cores",
    help="Core dumps of the cluster's nodes (koredump's API; docs/cores.md).",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
)

OutputFormat = Annotated[
    Format, typer.Option("-o", "--output", help="text (koredumpctl's blocks) or json.")
]
Newest = Annotated[bool, typer.Option("-1", "--newest", help="Only the newest core.")]
Every = Annotated[bool, typer.Option("-a", "--all", help="Every core (get).")]
Namespace = Annotated[str, typer.Option("-n", "--namespace", help="Only this namespace.")]
Pod = Annotated[str, typer.Option("-p", "--pod", help="Only this pod.")]


# koredumpctl's `-o json`: the other commands' `-o` names a file.
with_connection = connected_with(OutputFormat)


def _listing(connection: Connection, namespace: str, pod: str) -> cores.Listing:
    session = connection.session()
    listing = session.call(lambda api: cores.list_cores(api, namespace=namespace, pod=pod))
    for node, why in sorted(listing.unavailable.items()):
        warning_line(f"node {node} did not answer: {why}")
    return listing


@app.command("list")
@with_connection
def list_cores(
    newest: Newest = False,
    namespace: Namespace = "",
    pod: Pod = "",
    *,
    connection: Connection,
) -> None:
    """List the cluster's core dumps, oldest first (with -1, only the newest)."""
    with _exits():
        found = _listing(connection, namespace, pod).cores
        if newest:
            found = found[-1:]
        if connection.output is Format.JSON:
            connection.session().screen.data(found[-1] if newest and found else found)
            return
        if not found:
            sys.stderr.write("Nothing found.\n")
            return
        sys.stdout.write("\n".join(cores.human(core) for core in found) + "\n")


@app.command()
@with_connection
def get(
    node: Annotated[str, typer.Argument(help="Node of the core.")] = "",
    core_id: Annotated[str, typer.Argument(help="Core ID, as `list` shows it.")] = "",
    newest: Newest = False,
    every: Every = False,
    decompressed: Annotated[
        bool, typer.Option("-d", "--decompressed", help="Also save the decompressed core.")
    ] = False,
    namespace: Namespace = "",
    pod: Pod = "",
    directory: Annotated[
        Path, typer.Option("--directory", help="Where to save (default: here).")
    ] = Path(),
    *,
    connection: Connection,
) -> None:
    """Save cores (NODE CORE_ID, -1 the newest, or -a all) with their metadata as JSON."""
    with _exits():
        if newest and every:
            raise UsageError("use either -1 or -a")
        if newest or every:
            chosen = _listing(connection, namespace, pod).cores
            chosen = chosen[-1:] if newest else chosen
            if not chosen:
                sys.stderr.write("Nothing found.\n")
                return
        elif node and core_id:
            if "/" in core_id:
                raise UsageError(f"invalid core ID {core_id!r}")
            session = connection.session()
            meta = session.call(
                lambda api: api.get_json(
                    f"/apiv1/cores/metadata/{node}/{core_id}", what=f"core {core_id}"
                )
            )
            chosen = [meta]
        else:
            raise UsageError("give NODE and CORE_ID, or -1, or -a")
        session = connection.session()
        old = os.umask(0o077)  # cores hold a process's memory
        try:
            failed = 0
            for core in chosen:
                try:
                    saved = session.call(
                        lambda api, c=core: cores.save_core(  # type: ignore[misc]
                            api,
                            c,
                            directory,
                            decompressed=decompressed,
                            bars=session.screen.downloading,
                        )
                    )
                except ClientError as e:
                    failed += 1
                    sys.stderr.write(f"Error downloading: {core.get('node')} {core.get('id')}: ")
                    sys.stderr.write(e.message + "\n")
                    continue
                for path in saved:
                    sys.stdout.write(f"{path}\n")
        finally:
            os.umask(old)
        if failed:
            raise typer.Exit(1)


@app.command()
@with_connection
def status(*, connection: Connection) -> None:
    """The service's answer: how many cores, which nodes did not answer, this client's version."""
    with _exits():
        session = connection.session()
        listing = _listing(connection, "", "")
        facts = {
            "server": session.connection.server,
            "cores": len(listing.cores),
            "unavailable_nodes": listing.unavailable,
            "client_version": __version__,
        }
        if connection.output is Format.JSON:
            session.screen.data(facts)
            return
        sys.stdout.write(f"Server: {facts['server']}\n")
        sys.stdout.write(f"Cores: {facts['cores']}\n")
        nodes = ", ".join(sorted(listing.unavailable)) or "none"
        sys.stdout.write(f"Nodes not answering: {nodes}\n")
        sys.stdout.write(f"Client version: {__version__}\n")

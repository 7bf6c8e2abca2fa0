"""`must-gather-api files`, `summary` and `kubeconfig`: a gathering's archive, on the server.

Exit codes as the other client commands (4: no such gathering, archive or file).
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Annotated

import typer

from must_gather_api.cli.client_commands import Connection, Reference, _exits, connected
from must_gather_api.client import browsing
from must_gather_api.client.api import Api
from must_gather_api.client.archive_rendering import files_table, summary_view
from must_gather_api.client.errors import NotFound
from must_gather_api.client.kubeconfigs import kubeconfig_for
from must_gather_api.client.rendering import Format, warning_line

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
@connected
def files(
    reference: Reference,
    path: Annotated[
        str,
        typer.Argument(
            help="A file to print (its bytes, to stdout), or a directory to list.",
            show_default=False,
        ),
    ] = "",
    *,
    connection: Connection,
) -> None:
    """List the files of a gathering's archive, or print one, without downloading the archive."""
    with _exits():
        session = connection.session()
        screen = session.screen
        path = path.strip("/")

        async def work(api: Api) -> list[dict[str, object]] | None:
            if path:
                try:
                    async for chunk in browsing.read_file(api, reference, path):
                        sys.stdout.buffer.write(chunk)
                    sys.stdout.buffer.flush()
                    return None
                except NotFound:
                    listed = await browsing.list_files(api, reference, prefix=f"{path}/")
                    if not listed:
                        raise
                    return listed
            return await browsing.list_files(api, reference)

        listed = session.call(work)
        if listed is None:
            return
        if screen.json:
            screen.data(listed)
        else:
            files_table(screen, listed)


@app.command()
@connected
def summary(
    reference: Reference,
    *,
    connection: Connection,
) -> None:
    """What is wrong in the gathered cluster: findings over the archive, errors first.

    --output json gives every finding with its evidence (paths in the archive).
    """
    with _exits():
        session = connection.session()
        body = session.call(lambda api: browsing.summary(api, reference))
        if session.screen.json:
            session.screen.data(body)
        else:
            summary_view(session.screen, reference, body)


@app.command()
@connected
def kubeconfig(
    reference: Reference,
    *,
    connection: Connection,
) -> None:
    """Print a kubeconfig for kubectl to read a gathering's archive as a cluster (read-only).

    It holds your token and, with --ca-file, the service's CA: save it, then
    `kubectl --kubeconfig FILE get pods -A`.
    """
    with _exits():
        # A kubeconfig is YAML whatever --output says.
        session = dataclasses.replace(connection, output=Format.TEXT).session()
        gathering = session.call(lambda api: api.get(reference))
        if session.connection.token and session.connection.server.startswith("http://"):
            warning_line(
                "the service is reached over plain HTTP: kubectl does not send a token over "
                "HTTP, so it will be refused; use the service's HTTPS address"
            )
        sys.stdout.write(
            kubeconfig_for(
                session.connection,
                gathering.id,
                ca_data=connection.ca_file.read_bytes() if connection.ca_file else None,
                insecure=connection.insecure,
            )
        )

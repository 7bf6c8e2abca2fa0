"""The client commands of `must-gather-api`: run, list, get, logs, download, cancel, delete.

They talk to a must-gather-api service over its REST API only (``must_gather_api.client``).
Exit codes: 0 success; 1 the gathering ended in error (or its archive failed its checksum,
or it is in no state for what was asked); 2 usage; 3 cannot reach or authenticate to the
server; 4 not found; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import functools
import inspect
import os
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from must_gather_api.client import following
from must_gather_api.client.api import Api, Gathering
from must_gather_api.client.connection import CA_FILE_VARIABLE, SERVER_VARIABLE, TOKEN_VARIABLE
from must_gather_api.client.errors import ClientError, GatheringFailed, Interrupted, Refused
from must_gather_api.client.rendering import Format
from must_gather_api.client.session import Session, fail, request_body

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
PANEL = "Connection and output"

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        help=f"URL of the must-gather-api service (default: ${SERVER_VARIABLE}).",
        rich_help_panel=PANEL,
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help=f"Bearer token (default: ${TOKEN_VARIABLE}, else the current kubeconfig "
        "context's token, as `oc whoami -t` prints it).",
        rich_help_panel=PANEL,
        show_default=False,
    ),
]
CaFileOption = Annotated[
    Path | None,
    typer.Option(
        "--ca-file",
        envvar=CA_FILE_VARIABLE,
        help=f"CA bundle (PEM) that signed the server's certificate "
        f"(default: ${CA_FILE_VARIABLE}).",
        rich_help_panel=PANEL,
        show_default=False,
    ),
]
InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure", help="Do not check the server's certificate (unsafe).", rich_help_panel=PANEL
    ),
]
OutputOption = Annotated[
    Format,
    typer.Option("--output", help="text for people, json for scripts.", rich_help_panel=PANEL),
]
Reference = Annotated[str, typer.Argument(help="Gathering id, or custom-name (newest wins).")]
PathOption = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--output-file",
        help="File or directory to save the archive to (default: its own name, here).",
        show_default=False,
    ),
]


class Status(StrEnum):
    NEW = "new"
    INPROGRESS = "inprogress"
    COMPLETED = "completed"
    ERROR = "error"


class CoresChoice(StrEnum):
    """The request's ``cores`` (the client does not import the service's validators)."""

    NONE = "none"
    METADATA = "metadata"
    ALL = "all"


@contextmanager
def _exits() -> Iterator[None]:
    """A ClientError ends the command with one line on stderr and its exit code."""
    try:
        yield
    except ClientError as e:
        raise typer.Exit(fail(e)) from e
    except KeyboardInterrupt as e:
        raise typer.Exit(fail(Interrupted("interrupted"))) from e


@dataclass(frozen=True)
class Connection:
    """The five options every client command takes: where the service is, how to reach and
    authenticate to it, and how to print. ``connected`` gives them to a command as one."""

    server: str | None = None
    token: str | None = None
    ca_file: Path | None = None
    insecure: bool = False
    output: Format = Format.TEXT

    def session(self) -> Session:
        return Session.start(
            server=self.server,
            token=self.token,
            ca_file=self.ca_file,
            insecure=self.insecure,
            output=self.output,
            environ=os.environ,
        )


_CONNECTION_OPTIONS = {
    "server": (ServerOption, None),
    "token": (TokenOption, None),
    "ca_file": (CaFileOption, None),
    "insecure": (InsecureOption, False),
    "output": (OutputOption, Format.TEXT),
}


def connected_with(
    output: Any = OutputOption,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """``connected``, with another spelling of ``--output`` (koredumpctl's ``-o``, which
    other commands use for a path)."""
    options = {**_CONNECTION_OPTIONS, "output": (output, Format.TEXT)}

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(command).parameters.values() if p.name != "connection"]
        added = [
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind
            )
            for name, (kind, default) in options.items()
        ]
        hints = typing.get_type_hints(command, include_extras=True)

        @functools.wraps(command)
        def with_connection(*args: Any, **given: Any) -> None:
            connection = Connection(**{name: given.pop(name) for name in options})
            command(*args, connection=connection, **given)

        with_connection.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [p.replace(annotation=hints.get(p.name, p.annotation)) for p in own] + added
        )
        with_connection.__annotations__ = {p.name: p.annotation for p in own + added} | {
            "return": None
        }
        return with_connection

    return decorate


connected = connected_with()
"""A command with the connection options (``--server``, ``--token``, ``--ca-file``,
``--insecure``, ``--output``) added after its own; it receives them as ``connection``."""


@app.command()
@connected
def run(
    command: Annotated[
        list[str] | None,
        typer.Argument(
            help="After --: runs instead of /usr/bin/gather (leading NAME=value words set "
            "the environment).",
            show_default=False,
        ),
    ] = None,
    image: Annotated[
        list[str] | None,
        typer.Option(
            "--image", help="must-gather image; repeat for more (one pod each).", show_default=False
        ),
    ] = None,
    image_stream: Annotated[
        str, typer.Option("--image-stream", help="Image stream namespace/name[:tag].")
    ] = "",
    node_name: Annotated[str, typer.Option("--node-name", help="Node to run on.")] = "",
    timeout: Annotated[
        str, typer.Option("--timeout", help="How long it may take (15m, 1h30m).")
    ] = "",
    name: Annotated[str, typer.Option("--name", help="A custom-name to find it by.")] = "",
    since: Annotated[str, typer.Option("--since", help="Only logs newer than this (1h).")] = "",
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the output until the gathering ends.")
    ] = False,
    save: Annotated[
        bool, typer.Option("--download", help="Save the archive when it ends (implies --wait).")
    ] = False,
    redact: Annotated[
        bool,
        typer.Option(
            "--redact", help="An archive safe to share: addresses, MACs, domains obfuscated."
        ),
    ] = False,
    cores: Annotated[
        CoresChoice | None,
        typer.Option(
            "--cores",
            help="Also the nodes' core dumps: their metadata, or all (within the size limit).",
            show_default=False,
        ),
    ] = None,
    path: PathOption = None,
    *,
    connection: Connection,
) -> None:
    """Start a gathering; with --wait follow it, with --download (or -o) save its archive.

    Ctrl-C while waiting asks whether to cancel the gathering on the server (when stdin is a
    terminal; otherwise the gathering goes on and the command says so). Exit 1 if the
    gathering ends in error.
    """
    with _exits():
        session = connection.session()
        body = request_body(
            images=image or [],
            image_stream=image_stream,
            node_name=node_name,
            timeout=timeout,
            name=name,
            since=since,
            command=command or [],
            redact=redact,
            cores=cores.value if cores else "",
        )
        gathering = session.call(lambda api: api.create(body))
        save = save or path is not None
        if wait or save:
            session.run_to_end(gathering, path=path, save=save)
        else:
            session.show(gathering)


@app.command("list")
@connected
def list_gatherings(
    status: Annotated[
        Status | None, typer.Option("--status", help="Only in this status.", show_default=False)
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Only with this custom-name.", show_default=False)
    ] = None,
    *,
    connection: Connection,
) -> None:
    """List gatherings: id, custom-name, status, age, size."""
    with _exits():
        session = connection.session()
        found = session.call(
            lambda api: api.list(status=status.value if status else None, name=name)
        )
        if session.screen.json:
            session.screen.data([gathering.raw for gathering in found])
        else:
            session.screen.table(found)


@app.command()
@connected
def get(
    reference: Reference,
    *,
    connection: Connection,
) -> None:
    """Show one gathering, with the tail of its output."""
    with _exits():
        session = connection.session()
        session.show(session.call(lambda api: api.get(reference)))


@app.command()
@connected
def logs(
    reference: Reference,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Go on until the gathering ends.")
    ] = False,
    *,
    connection: Connection,
) -> None:
    """Print the whole output of a gathering; with -f, follow it (exit 1 if it ends in error).

    With --output json, one object at the end: id, status and the output.
    """
    with _exits():
        session = connection.session()
        screen = session.screen
        lines: list[str] = []

        async def work(api: Api) -> Gathering:
            gathering = await api.get(reference)
            take = lines.append if screen.json else screen.line
            if not follow:
                await following.follow_output(api, str(gathering.id), take, follow=False)
                return gathering
            with screen.waiting(gathering) as waiting:
                return await following.wait_for_end(
                    api, gathering, on_line=take, on_status=waiting.status
                )

        try:
            ended = session.call(work)
        except KeyboardInterrupt:
            raise Interrupted("stopped following; the gathering goes on on the server") from None
        if screen.json:
            screen.data({"id": ended.id, "status": ended.status, "output": "\n".join(lines)})
        if follow and ended.status == "error":
            raise GatheringFailed(f"gathering {ended.id} ended in error: {ended.error_reason}")


@app.command("download")
@connected
def download_archive(
    reference: Reference,
    path: PathOption = None,
    *,
    connection: Connection,
) -> None:
    """Save the archive of a gathering, checked against its sha256.

    An interrupted download resumes where it stopped, when the same command runs again.
    """
    with _exits():
        session = connection.session()
        gathering = session.call(lambda api: api.get(reference))
        session.say_saved(session.save(gathering, path))


@app.command()
@connected
def cancel(
    reference: Reference,
    *,
    connection: Connection,
) -> None:
    """Cancel a queued or running gathering (what it gathered so far is kept)."""
    with _exits():
        session = connection.session()

        async def work(api: Api) -> Gathering | None:
            gathering = await api.get(reference)
            if gathering.finished:
                raise Refused(
                    f"gathering {gathering.id} has already ended ({gathering.status}); nothing "
                    f"to cancel (remove it with: must-gather-api delete {gathering.id})"
                )
            return await api.remove(str(gathering.id))

        cancelled = session.call(work)
        if cancelled is None:
            # It ended between the two calls, and so the DELETE removed it.
            raise Refused(f"gathering {reference} ended just before the cancel and was removed")
        if session.screen.json:
            session.screen.data(cancelled.raw)
        else:
            session.screen.line(f"gathering {cancelled.id} cancelled ({cancelled.error_reason})")


@app.command()
@connected
def delete(
    reference: Reference,
    force: Annotated[
        bool, typer.Option("--force", help="Cancel it first if it is still queued or running.")
    ] = False,
    *,
    connection: Connection,
) -> None:
    """Remove a finished gathering and its files; a queued or running one only with --force."""
    with _exits():
        session = connection.session()

        async def work(api: Api) -> int:
            gathering = await api.get(reference)
            if not gathering.finished:
                if not force:
                    raise Refused(
                        f"gathering {gathering.id} is still {gathering.status}; cancel it "
                        f"first (must-gather-api cancel {gathering.id}) or give --force"
                    )
                await api.remove(str(gathering.id))
                await following.settled(api, str(gathering.id))
            await api.remove(str(gathering.id))
            return gathering.id

        removed = session.call(work)
        if session.screen.json:
            session.screen.data({"id": removed, "deleted": True})
        else:
            session.screen.line(f"gathering {removed} deleted")

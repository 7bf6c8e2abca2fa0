"""One command's session: its connection and screen, and the steps commands share.

Each step that talks to the server runs in its own ``asyncio.run``, so that Ctrl-C between
steps is an ordinary KeyboardInterrupt the command can answer (by asking whether to cancel
the gathering, or by saying how to resume a download).
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from must_gather_api.client import following
from must_gather_api.client.api import Api, Gathering
from must_gather_api.client.connection import Connection, resolve
from must_gather_api.client.downloading import Downloaded, download, target_path
from must_gather_api.client.errors import ClientError, GatheringFailed, Interrupted
from must_gather_api.client.rendering import Format, Screen, error_line, warning_line

T = TypeVar("T")


def request_body(
    *,
    images: list[str],
    image_stream: str,
    node_name: str,
    timeout: str,
    name: str,
    since: str,
    command: list[str],
    redact: bool = False,
    cores: str = "",
) -> dict[str, Any]:
    """The POST body: only what was given; the first image is `image`, the rest `images`."""
    body: dict[str, Any] = {
        "custom-name": name,
        "image": images[0] if images else "",
        "image-stream": image_stream,
        "node-name": node_name,
        "timeout": timeout,
        "since": since,
        "command": shlex.join(command) if command else "",
        "redact": redact,
        "cores": "" if cores == "none" else cores,
    }
    if len(images) > 1:
        body["images"] = images[1:]
    return {key: value for key, value in body.items() if value}


@dataclass(frozen=True)
class Session:
    connection: Connection
    screen: Screen

    @classmethod
    def start(
        cls,
        *,
        server: str | None,
        token: str | None,
        ca_file: Path | None,
        insecure: bool,
        output: Format,
        environ: Mapping[str, str],
    ) -> Session:
        connection = resolve(
            server=server, token=token, ca_file=ca_file, insecure=insecure, environ=environ
        )
        if insecure:
            warning_line(
                "--insecure: the server's certificate is not checked; anyone on the way "
                "can read the token and the archive"
            )
        return cls(connection, Screen.create(output))

    def call(self, work: Callable[[Api], Awaitable[T]]) -> T:
        """Runs ``work`` with an open API, to its end (or until Ctrl-C)."""

        async def opened() -> T:
            async with Api.open(self.connection) as api:
                return await work(api)

        return asyncio.run(opened())

    # -- steps -------------------------------------------------------------------

    def show(self, gathering: Gathering) -> None:
        if self.screen.json:
            self.screen.data(gathering.raw)
        else:
            self.screen.details(gathering)

    def wait(self, gathering: Gathering) -> Gathering:
        """Follows the gathering until it ends; on Ctrl-C, offers to cancel it."""
        if not self.screen.json:
            self.screen.line(f"gathering {gathering.id} started", style="bold")

        async def work(api: Api) -> Gathering:
            with self.screen.waiting(gathering) as waiting:
                return await following.wait_for_end(
                    api, gathering, on_line=waiting.line, on_status=waiting.status
                )

        try:
            return self.call(work)
        except KeyboardInterrupt:
            self.offer_to_cancel(gathering)
            raise AssertionError("unreachable") from None

    def offer_to_cancel(self, gathering: Gathering) -> None:
        reference = str(gathering.id)
        if not sys.stdin.isatty():
            raise Interrupted(
                f"gathering {reference} goes on running on the server (stdin is not a "
                f"terminal, so not asking); cancel it with: must-gather-api cancel {reference}"
            )
        sys.stderr.write(f"\nCancel gathering {reference} on the server? [y/N]: ")
        sys.stderr.flush()
        try:
            answer = sys.stdin.readline().strip().lower()
        except KeyboardInterrupt:
            answer = ""
        if answer not in ("y", "yes"):
            raise Interrupted(
                f"gathering {reference} goes on running on the server; "
                f"follow it with: must-gather-api logs -f {reference}"
            )
        self.call(lambda api: api.remove(reference))
        raise Interrupted(f"gathering {reference} cancelled")

    def save(self, gathering: Gathering, path: Path | None) -> Downloaded:
        async def work(api: Api) -> Downloaded:
            target = target_path(gathering, path)
            with self.screen.downloading(target.name) as bar:
                return await download(api, gathering, target, progress=bar)

        try:
            return self.call(work)
        except KeyboardInterrupt:
            again = f" -o {shlex.quote(str(path))}" if path else ""
            raise Interrupted(
                "download interrupted; resume it with: "
                f"must-gather-api download {gathering.id}{again}"
            ) from None

    def say_saved(self, saved: Downloaded) -> None:
        if self.screen.json:
            self.screen.data(saved.as_json())
            return
        how = "already there" if saved.already_there else "saved"
        resumed = f", resumed at byte {saved.resumed_from}" if saved.resumed_from else ""
        self.screen.line(
            f"{how}: {saved.path} ({saved.size} bytes, sha256 {saved.sha256[:12]}… "
            f"checked{resumed})"
        )

    def report_end(self, ended: Gathering, saved: Downloaded | None) -> None:
        """The gathering as it ended; GatheringFailed (exit 1) if it ended in error."""
        if self.screen.json:
            value = dict(ended.raw)
            if saved is not None:
                value["downloaded-to"] = str(saved.path)
            self.screen.data(value)
        else:
            style = "green" if ended.status == "completed" else "red"
            self.screen.line(f"gathering {ended.id} {ended.status}", style=f"bold {style}")
            if saved is not None:
                self.say_saved(saved)
        if ended.status != "completed":
            raise GatheringFailed(f"gathering {ended.id} ended in error: {ended.error_reason}")

    def run_to_end(self, gathering: Gathering, *, path: Path | None, save: bool) -> None:
        """``run --wait [--download]`` after the gathering was created."""
        ended = self.wait(gathering)
        saved = None
        if save and ended.archive_name and not ended.raw.get("archive-removed"):
            saved = self.save(ended, path)
        elif save:
            error_line(f"gathering {ended.id} has no archive to download")
        self.report_end(ended, saved)


def fail(error: ClientError) -> int:
    """Reports ``error`` on stderr as one line; returns its exit code."""
    if isinstance(error, Interrupted):
        sys.stderr.write(f"\n{error.message}\n")
    else:
        error_line(error.message)
    return int(error.exit_code)

"""The client's error hierarchy: every failure carries one line for a person and an exit code.

Exit codes are the client's contract with scripts:
0 success; 1 the gathering ended in error (or its archive failed its checksum);
2 usage (a bad option, or a request the server refused as invalid);
3 cannot reach or authenticate to the server; 4 not found.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    UNREACHABLE = 3
    NOT_FOUND = 4
    INTERRUPTED = 130


class ClientError(Exception):
    """Base of every error the client reports; ``message`` is one line a person can act on."""

    exit_code = ExitCode.FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(ClientError):
    """An option is wrong, or the server refused the request as invalid."""

    exit_code = ExitCode.USAGE


class Unreachable(ClientError):
    """The server cannot be reached, or does not answer in time, or is not ready."""

    exit_code = ExitCode.UNREACHABLE


class NotAuthenticated(ClientError):
    """The server refused the token (401), or the caller lacks the permission (403)."""

    exit_code = ExitCode.UNREACHABLE


class NotFound(ClientError):
    """No gathering has that id or custom-name, or it has no archive (404)."""

    exit_code = ExitCode.NOT_FOUND


class GatheringFailed(ClientError):
    """The gathering ended in error."""

    exit_code = ExitCode.FAILED


class ChecksumMismatch(ClientError):
    """The downloaded archive is not the one the server describes."""

    exit_code = ExitCode.FAILED


class Refused(ClientError):
    """The gathering is not in a state that allows what was asked."""

    exit_code = ExitCode.FAILED


class Interrupted(ClientError):
    """Ctrl-C; the message says what became of the gathering or the download."""

    exit_code = ExitCode.INTERRUPTED

"""The ``command`` parameter: what the gather pod runs instead of the image's default.

Callers send a shell-like line such as ``PLAN=plan1 /usr/bin/targeted``. It is split here,
once, into environment assignments and an argv; from then on the service handles words, and
only :meth:`Command.as_shell` turns them back into text, quoting every word.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from dataclasses import dataclass

from must_gather_api.parameters.syntax import check_dns_subdomain, show

__all__ = ["COMMAND_MAX", "TARGETED_PROGRAMS", "Command", "is_targeted", "parse_command"]

COMMAND_MAX = 4096
"""The longest command accepted, in characters."""

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# shlex's own sets in POSIX mode, so words split here exactly as shlex.split splits them.
_WHITESPACE = " \t\r\n"
_QUOTES = "'\""
_ESCAPE = "\\"
_ESCAPED_IN = '"'
_ALLOWED_CONTROLS = "\t\n"
_EXAMPLE = "e.g. PLAN=plan1 /usr/bin/targeted"


@dataclass(frozen=True, slots=True)
class Command:
    """Environment assignments, in order, and the argv they apply to."""

    env: tuple[tuple[str, str], ...]
    argv: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.argv:
            raise ValueError("a command needs at least one word to run")
        for name, _ in self.env:
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"{show(name)} is not an environment variable name")

    def as_shell(self) -> str:
        """The command as one line for ``/bin/bash -c``: every value and word quoted.

        A first argv word that looks like ``NAME=value`` is quoted even though shlex would
        leave it bare, so that a shell runs it rather than reading it as an assignment.
        """
        assignments = [f"{name}={shlex.quote(value)}" for name, value in self.env]
        first, *others = self.argv
        if _ASSIGNMENT.match(first):
            first = "'" + first.replace("'", "'\"'\"'") + "'"
        else:
            first = shlex.quote(first)
        return " ".join([*assignments, first, *(shlex.quote(word) for word in others)])


def parse_command(value: str) -> Command:
    """Split ``value`` like a POSIX shell (``shlex``, no comments) into env and argv.

    Leading unquoted ``NAME=value`` words become environment variables until the first
    other word; ``PLAN=plan1 /usr/bin/targeted`` runs ``/usr/bin/targeted`` with ``PLAN`` set.
    Control characters other than tab and newline are refused: they have no place in a
    command line and would mangle the places it is shown.
    """
    if len(value) > COMMAND_MAX:
        raise ValueError(
            f"{show(value)} is {len(value)} characters long; at most {COMMAND_MAX} are allowed"
        )
    if "\0" in value:
        raise ValueError(f"{show(value)} contains a NUL byte, which no command can hold")
    for char in value:
        if unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS:
            raise ValueError(
                f"{show(value)} contains the control character {show(char)}; remove it"
            )
    if value.strip(_WHITESPACE) == "":
        raise ValueError(f"must not be empty; give a command to run, {_EXAMPLE}")
    words = _split(value)
    env: list[tuple[str, str]] = []
    index = 0
    while index < len(words) and words[index][1]:
        name, _, assigned = words[index][0].partition("=")
        env.append((name, assigned))
        index += 1
    if index == len(words):
        raise ValueError(
            f"{show(value)} only sets environment variables; add the command to run, {_EXAMPLE}"
        )
    return Command(env=tuple(env), argv=tuple(word for word, _ in words[index:]))


def _split(value: str) -> list[tuple[str, bool]]:
    """Words as ``shlex.split(value, comments=False)`` gives them, each with whether it
    starts with an unquoted ``NAME=`` (which shlex cannot tell once the quotes are gone)."""
    words: list[tuple[str, bool]] = []
    word: list[str] = []
    in_word = False
    start = 0
    state = " "  # " " between words, "a" in a bare word, or the open quote character
    position = 0
    while position < len(value):
        char = value[position]
        if state in _QUOTES:
            if char == state:
                state = "a"
            elif char == _ESCAPE and state in _ESCAPED_IN and position + 1 < len(value):
                # Inside "...", a backslash escapes only '"' and itself, as in shlex.
                following = value[position + 1]
                word.append(following if following in (state, _ESCAPE) else char + following)
                position += 1
            elif char == _ESCAPE and state in _ESCAPED_IN:
                raise ValueError(_unbalanced(value, "ends in a backslash inside double quotes"))
            else:
                word.append(char)
        elif char in _WHITESPACE:
            if in_word:
                words.append(("".join(word), bool(_ASSIGNMENT.match(value, start))))
                word, in_word, state = [], False, " "
        else:
            if not in_word:
                in_word, start = True, position
            if char in _QUOTES:
                state = char
            elif char == _ESCAPE:
                if position + 1 == len(value):
                    raise ValueError(_unbalanced(value, "ends in a lone backslash"))
                word.append(value[position + 1])
                position += 1
            else:
                word.append(char)
        position += 1
    if state in _QUOTES:
        raise ValueError(_unbalanced(value, f"has an unclosed {state} quote"))
    if in_word:
        words.append(("".join(word), bool(_ASSIGNMENT.match(value, start))))
    return words


def _unbalanced(value: str, problem: str) -> str:
    return (
        f"{show(value)} {problem}; quotes must be balanced and a backslash must escape "
        "something, as in a POSIX shell"
    )


TARGETED_PROGRAMS = ("/usr/bin/gather", "/usr/bin/targeted")
"""The programs a command of the targeted shape may run (the must-gather image contract's
entry point and the Forklift image's targeted gathering)."""
TARGETED_VARIABLES = ("NS", "PLAN", "VM")
"""The environment a targeted command may set: what the Forklift UI sends."""


def is_targeted(command: Command) -> bool:
    """Whether ``command`` is ``[NS=… PLAN=… VM=…] /usr/bin/targeted`` (or ``/usr/bin/gather``).

    That shape only chooses what the image's own script gathers, by object names; anything
    else runs code of the caller's choosing in the gathering pod.
    """
    if len(command.argv) != 1 or command.argv[0] not in TARGETED_PROGRAMS:
        return False
    names = [name for name, _ in command.env]
    if len(set(names)) != len(names):
        return False
    for name, value in command.env:
        if name not in TARGETED_VARIABLES:
            return False
        try:
            check_dns_subdomain(value, what=name)
        except ValueError:
            return False
    return True

"""The guard every ``error-reason`` passes before it is recorded: no paths, no class names.

An error-reason is shown to every caller who may read the gathering. It says what went
wrong in words; it must not tell the service's filesystem layout or its implementation.
Reasons are written that way where they are made; this guard catches what slips through
(an ``OSError`` with its file name, a Python exception's class name, one of the service's
own directories), so a bug elsewhere cannot leak them.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable
from pathlib import Path

_OS_ERROR = re.compile(r"\[Errno -?\d+\] ([^:;\]]+)(?:: '[^']*'(?: -> '[^']*')?)?(?=$|[;:,.)\s])")
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")
_BUILTIN_ERRORS = sorted(
    (
        name
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    ),
    key=len,
    reverse=True,
)
_CLASS_NAME = re.compile(
    r"(?<![\w.])(?:(?:[a-z_][\w]*\.)+[A-Z]\w*|" + "|".join(_BUILTIN_ERRORS) + r")(?![\w.]): ?"
)
HIDDEN = "(a file of the service)"
UNEXPECTED = "the executor failed unexpectedly (the service log says why)"


def _path_pattern(roots: Iterable[Path | str]) -> re.Pattern[str] | None:
    spellings: set[str] = set()
    for root in roots:
        text = str(root).rstrip("/")
        if text and text != ".":
            spellings.add(text)
            spellings.add(str(Path(text).resolve()).rstrip("/"))
    if not spellings:
        return None
    # An absolute root is a path alone; a relative one ("data") only when a path follows.
    alternatives = "|".join(
        re.escape(s) + ("(?:/[^\\s'\";,]*)?" if s.startswith("/") else "/[^\\s'\";,]*")
        for s in sorted(spellings, key=len, reverse=True)
    )
    return re.compile(r"""(?<![\w.-])['"]?(?:""" + alternatives + r""")['"]?""")


def public_reason(reason: str, *, hidden: Iterable[Path | str] = ()) -> str:
    """``reason`` without file names from OSErrors, exception class names, or any path
    under ``hidden`` (the service's own directories)."""
    text = _OS_ERROR.sub(r"\1", reason)
    text = _ERRNO.sub("", text)
    pattern = _path_pattern(hidden)
    if pattern is not None:
        text = pattern.sub(HIDDEN, text)
    return _CLASS_NAME.sub("", text)

"""Keeping tokens out of a gathering's captured output.

The caller's own token is replaced wherever it appears, and so is anything that looks
like a bearer token (an `Authorization: Bearer ...` value, an OpenShift `sha256~...`
token, a JWT), since a gather script may print one it found.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MASK = "<redacted>"

_BEARER_LOOKING = re.compile(
    r"(?i)(?P<prefix>bearer\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|sha256~[A-Za-z0-9_-]{20,}"
    r"|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"
)


def _replace(match: re.Match[str]) -> str:
    return (match.group("prefix") or "") + MASK


def masker(token: str = "") -> Callable[[str], str]:
    """A function that masks ``token`` and bearer-looking strings in a piece of output."""

    def mask(text: str) -> str:
        if token and token in text:
            text = text.replace(token, MASK)
        return _BEARER_LOOKING.sub(_replace, text)

    return mask

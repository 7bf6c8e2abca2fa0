"""The gather container's last error line, kept for an ``error-reason`` a person can act on.

A gather script that gives up usually says why on its last lines (Forklift's ``targeted``:
``ERROR: No resources matching the criteria were found. Try adjust NS, PLAN or VM env
variables.``). The line is taken from the followed log, without the kubelet's timestamp,
without control characters or terminal escapes, and bounded, because it ends up in a
record every reader of the gathering sees.
"""

from __future__ import annotations

import re
import unicodedata

LIMIT = 300
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_ERROR = re.compile(r"\b(error|fatal|failed|failure|panic|cannot|unable)\b", re.IGNORECASE)
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}) ")


def clean(line: str, *, limit: int = LIMIT) -> str:
    """``line`` without its kubelet timestamp, escapes and control characters, at most
    ``limit`` characters (an ellipsis marks a cut)."""
    text = _STAMP.sub("", line, count=1)
    text = _ESCAPES.sub("", text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


class LastLines:
    """Per pod, the last line that reads as an error and the last line at all."""

    def __init__(self) -> None:
        self._error: dict[str, str] = {}
        self._last: dict[str, str] = {}

    def add(self, pod: str, line: str) -> None:
        text = clean(line)
        if not text:
            return
        self._last[pod] = text
        if _ERROR.search(text):
            self._error[pod] = text

    def reason(self, pod: str) -> str:
        """``its last error line: …`` (or ``its last line: …``), or "" when it printed
        nothing."""
        if pod in self._error:
            return f"its last error line: {self._error[pod]}"
        if pod in self._last:
            return f"its last line: {self._last[pod]}"
        return ""

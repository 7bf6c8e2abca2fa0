"""The name an archive is offered under (`archive-name`)."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^\w.-]+")


def safe_file_part(text: str) -> str:
    """``text`` reduced to what is safe in a file name on every common system.

    Letters (unicode included), digits, `.`, `_` and `-` stay; every run of anything
    else (`:`, `/`, quotes, spaces, controls) becomes one `_`; no leading dot.
    """
    return _UNSAFE.sub("_", text).lstrip(".") or "_"


def archive_name(filename: str, custom_name: str = "") -> str:
    """`must-gather.tar.gz` with custom-name `plan:p1:uid` gives `must-gather-plan_p1_uid.tar.gz`.

    The custom-name goes before the first dot, as the old service put it there, but
    made safe for a file name (the old service put `plan:p1` in verbatim).
    """
    if not custom_name:
        return filename
    stem, dot, rest = filename.partition(".")
    return f"{stem}-{safe_file_part(custom_name)}{dot}{rest}"

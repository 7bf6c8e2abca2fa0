"""Text from the service made safe to print on a terminal.

A gathering's output is written by the image in the pod, so it is hostile by assumption:
escape sequences could clear the screen, move the cursor over earlier lines, retitle the
window, write to the clipboard (OSC 52) or hide text. Every escape sequence and every other
control character except tab is removed before the CLI prints a line.
"""

from __future__ import annotations

import re

# ESC followed by: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC strings (ended by BEL or ST),
# or any single character (two-character sequences such as ESC c, which resets the terminal).
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?", re.DOTALL
)
# The 8-bit forms: CSI (0x9b) and the string introducers, then remaining C0/C1 controls.
_C1_SEQUENCE = re.compile(r"\x9b[0-?]*[ -/]*[@-~]?|[\x90\x98\x9d\x9e\x9f][^\x07\x9c]*[\x07\x9c]?")
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without escape sequences and control characters (tabs are kept)."""
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _C1_SEQUENCE.sub("", text)
    return _CONTROLS.sub("", text)

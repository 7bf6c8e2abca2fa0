"""Building blocks shared by the validators: quoting input in messages, Kubernetes names.

Quoting the input the way ``repr`` does (every non-printable character escaped) means a CR,
LF, ESC or bidi override sent by a caller can never reach a log line, a JSON body or a
header raw; clipping it keeps a 4 KiB value from flooding them.
"""

from __future__ import annotations

import re

__all__ = [
    "SHOWN_CHARACTERS",
    "check_dns_label",
    "check_dns_subdomain",
    "check_plain_text",
    "show",
]

SHOWN_CHARACTERS = 100
"""At most this many characters of the input are echoed in a message."""

_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
)
DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253


def show(value: str) -> str:
    """``value`` double-quoted and escaped for a message, clipped to ``SHOWN_CHARACTERS``.

    ``show('a"b\\n')`` is ``"a\\"b\\n"``; a longer value ends with ``…`` and its length.
    """
    body = "".join(_escape(char) for char in value[:SHOWN_CHARACTERS])
    if len(value) > SHOWN_CHARACTERS:
        return f'"{body}"… ({len(value)} characters)'
    return f'"{body}"'


def _escape(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if char.isprintable():
        return char
    # repr escapes exactly the non-printable characters, as \n, \x1b, \u202e or \U000e0001.
    return repr(char)[1:-1]


def check_plain_text(value: str, *, what: str) -> None:
    """Reject an empty value, or one with whitespace or non-printable characters in it.

    ``what`` names the kind of value for the message (``"an image reference"``).
    """
    if value == "":
        raise ValueError(f"must not be empty; give {what}")
    for char in value:
        if char.isspace() or not char.isprintable():
            kind = "whitespace" if char.isspace() else "a control or non-printable character"
            raise ValueError(f"{show(value)} contains {kind} ({show(char)}); {what} has none")


def check_dns_label(value: str, *, what: str) -> None:
    """Kubernetes DNS-1123 label: 1 to 63 of ``a-z``, ``0-9``, ``-``, alphanumeric at both ends."""
    if len(value) > DNS_LABEL_MAX:
        raise ValueError(
            f"{show(value)} is {len(value)} characters long; {what} has at most {DNS_LABEL_MAX}"
        )
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"{show(value)} is not a valid {what}; use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (a DNS-1123 label)"
        )


def check_dns_subdomain(value: str, *, what: str) -> None:
    """Kubernetes DNS-1123 subdomain: dot-separated DNS labels, 1 to 253 characters in all."""
    if len(value) > DNS_SUBDOMAIN_MAX:
        raise ValueError(
            f"{show(value)} is {len(value)} characters long; {what} has at most {DNS_SUBDOMAIN_MAX}"
        )
    if not _DNS_SUBDOMAIN.fullmatch(value):
        raise ValueError(
            f"{show(value)} is not a valid {what}; use lowercase letters, digits, '-' and '.', "
            "each dot-separated part starting and ending with a letter or digit "
            "(a DNS-1123 subdomain)"
        )

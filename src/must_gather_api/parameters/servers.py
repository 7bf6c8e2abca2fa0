"""The API server address a gathering runs against.

The old service passed this to ``oc login`` without a scheme and skipped TLS verification.
Here TLS is always verified, so only ``https`` makes sense; the address is rebuilt from its
checked parts rather than passed through, so nothing the caller adds survives unchecked.
"""

from __future__ import annotations

import ipaddress
import re

from must_gather_api.parameters.syntax import check_plain_text, show

__all__ = ["server"]

_SERVER_TEXT_MAX = 2048
_PORT_MAX = 65535
_HOST_MAX = 253
_HOST_NAME = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*", re.IGNORECASE
)
# RFC 3986 path characters: unreserved, percent-encoded, sub-delims, ':', '@' and '/'.
_PATH = re.compile(r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)*")
_FORMS = "use https://host[:port][/path] or host:port, e.g. https://api.example.com:6443"


def server(value: str) -> str:
    """``https://host[:port][/path]`` or ``host:port``, returned as a normalised https URL.

    The host is lowercased, an IPv6 address is written in its short form, a port loses
    leading zeros and a trailing ``/`` of the path is dropped.
    """
    check_plain_text(value, what="an API server address")
    if len(value) > _SERVER_TEXT_MAX:
        raise ValueError(f"{show(value)} is too long; {_FORMS}")
    if value.startswith("-"):
        raise ValueError(f"{show(value)} starts with '-'; {_FORMS}")
    scheme, separator, rest = value.partition("://")
    if not separator:
        if "/" in value:
            raise ValueError(
                f"{show(value)} has a path but no scheme; write https://host:port/path"
            )
        return "https://" + _authority(value, value, port_required=True)
    if scheme.lower() == "http":
        raise ValueError(
            f"{show(value)} uses http://; the API server is always reached over TLS with its "
            "certificate verified, so use https://"
        )
    if scheme.lower() != "https":
        raise ValueError(f"{show(value)} has the scheme {show(scheme)}; {_FORMS}")
    for char, part in (("?", "a query"), ("#", "a fragment")):
        if char in rest:
            raise ValueError(f"{show(value)} has {part} ({char}); {_FORMS}")
    slash = rest.find("/")
    authority, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    if not _PATH.fullmatch(path):
        raise ValueError(
            f"{show(value)} has characters a URL path cannot hold raw; percent-encode them"
        )
    return "https://" + _authority(value, authority, port_required=False) + path.rstrip("/")


def _authority(value: str, authority: str, *, port_required: bool) -> str:
    if "@" in authority:
        raise ValueError(
            f"{show(value)} has user information ('@'); credentials never go in the address"
        )
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise ValueError(f"{show(value)} has an unclosed '[' around an IPv6 address")
        address = authority[1:end]
        if "%" in address:
            raise ValueError(f"{show(value)} has an IPv6 zone; the API server needs none")
        try:
            host = f"[{ipaddress.IPv6Address(address).compressed}]"
        except ValueError:
            raise ValueError(f"{show(value)} has an invalid IPv6 address {show(address)}") from None
        port = authority[end + 1 :]
    else:
        if authority.count(":") > 1:
            raise ValueError(
                f"{show(value)} looks like an IPv6 address without brackets; write it as "
                "[fd00::1]:6443"
            )
        name, colon, number = authority.partition(":")
        host, port = _host_name(value, name), colon + number
    if port == "":
        if port_required:
            raise ValueError(
                f"{show(value)} has no port; without https:// write host:port, e.g. "
                "api.example.com:6443"
            )
        return host
    if not (port.startswith(":") and port[1:].isascii() and port[1:].isdigit()):
        raise ValueError(f"{show(value)} has an invalid port {show(port)}; {_FORMS}")
    port_number = int(port[1:])
    if not 0 < port_number <= _PORT_MAX:
        raise ValueError(f"{show(value)} has the port {port_number}; use 1 to {_PORT_MAX}")
    return f"{host}:{port_number}"


def _host_name(value: str, name: str) -> str:
    if name == "":
        raise ValueError(f"{show(value)} has no host; {_FORMS}")
    if len(name) > _HOST_MAX or not _HOST_NAME.fullmatch(name):
        raise ValueError(
            f"{show(value)} has an invalid host {show(name)}; a host is a DNS name "
            "(letters, digits, '-' and '.'), an IPv4 address or a bracketed IPv6 address"
        )
    if all(label.isdigit() for label in name.split(".")):
        try:
            return str(ipaddress.IPv4Address(name))
        except ValueError:
            raise ValueError(f"{show(value)} has an invalid IPv4 address {show(name)}") from None
    return name.lower()

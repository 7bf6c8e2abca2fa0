"""The API server address: https only, normalised, no credentials, queries or fragments."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from must_gather_api.parameters import server

PROPERTY = settings(max_examples=200, deadline=None)
CONTROLS = st.sampled_from(["\x00", "\n", "\r", "\t", " ", "\x1b", "\x7f", "\u2028", "\u202e"])
LABEL = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
HOST_NAMES = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
PATHS = st.lists(st.from_regex(r"[A-Za-z0-9._~-]{1,8}", fullmatch=True), max_size=3).map(
    lambda parts: "".join("/" + part for part in parts)
)
PORTS = st.integers(1, 65535)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("api.example.com:6443", "https://api.example.com:6443"),
        ("https://api.example.com:6443", "https://api.example.com:6443"),
        ("HTTPS://API.Example.COM:06443/", "https://api.example.com:6443"),
        ("https://api.example.com", "https://api.example.com"),
        ("https://kubernetes.default.svc/", "https://kubernetes.default.svc"),
        ("https://10.0.0.1:443/k8s/clusters/c-1", "https://10.0.0.1:443/k8s/clusters/c-1"),
        ("[fd00::1]:6443", "https://[fd00::1]:6443"),
        ("https://[FD00:0:0::1]:6443", "https://[fd00::1]:6443"),
        ("https://[::1]", "https://[::1]"),
        ("https://h:1/a%2Fb;c=d", "https://h:1/a%2Fb;c=d"),
    ],
)
def test_server_normalises(value: str, expected: str) -> None:
    assert server(value) == expected
    assert server(expected) == expected


@pytest.mark.parametrize(
    ("value", "useful"),
    [
        ("", "must not be empty"),
        ("http://api.example.com:6443", "uses http://"),
        ("HTTP://api.example.com", "uses http://"),
        ("ftp://api.example.com", 'has the scheme "ftp"'),
        ("https://user:pw@api.example.com", "user information"),
        ("user@api.example.com:6443", "user information"),
        ("https://api.example.com?x=1", "a query"),
        ("https://api.example.com/#top", "a fragment"),
        ("api.example.com", "has no port"),
        ("api.example.com:6443/path", "has a path but no scheme"),
        ("fd00::1", "without brackets"),
        ("https://fd00::1:6443", "without brackets"),
        ("https://[fd00::1", "unclosed '['"),
        ("https://[fd00::zz]", "invalid IPv6 address"),
        ("https://[fe80::1%25eth0]:6443", "IPv6 zone"),
        ("https://999.0.0.1", "invalid IPv4 address"),
        ("https://api_x.example.com", "invalid host"),
        ("https://-api.example.com", "invalid host"),
        ("https://:6443", "has no host"),
        ("https://api:0", "has the port 0"),
        ("https://api:65536", "has the port 65536"),
        ("https://api:64x", 'invalid port ":64x"'),
        ("https://api:", 'invalid port ":"'),
        ("https://api/a b", "contains whitespace"),
        ('https://api/a"b', "percent-encode"),
        ("https://api/\u00e9", "percent-encode"),
        ("--server=x", "starts with '-'"),
        ("https://a\r\nHost: evil", "contains whitespace"),
        ("https://" + "a" * 3000, "too long"),
    ],
)
def test_server_rejections_say_why(value: str, useful: str) -> None:
    with pytest.raises(ValueError) as caught:
        server(value)
    message = str(caught.value)
    assert useful in message
    assert message.isprintable()


@st.composite
def servers(draw: st.DrawFn) -> tuple[str, str]:
    """A server address as a caller may write it, and its normal form."""
    kind = draw(st.sampled_from(["name", "ipv4", "ipv6"]))
    if kind == "name":
        host = draw(HOST_NAMES)
        written = "".join(char.upper() if draw(st.booleans()) else char for char in host)
    elif kind == "ipv4":
        address = draw(st.ip_addresses(v=4))
        host = written = str(address)
    else:
        address6 = draw(st.ip_addresses(v=6))
        host, written = f"[{address6.compressed}]", f"[{address6.exploded}]"
    port = draw(st.one_of(st.none(), PORTS))
    if draw(st.booleans()) and port is not None:
        return f"{written}:{port}", f"https://{host}:{port}"
    path = draw(PATHS)
    authority = written if port is None else f"{written}:{port}"
    normal = f"https://{host}" + ("" if port is None else f":{port}") + path
    return f"https://{authority}{path}{draw(st.sampled_from(['', '/']))}", normal


@PROPERTY
@given(servers())
def test_generated_servers_normalise_idempotently(case: tuple[str, str]) -> None:
    written, normal = case
    assert server(written) == normal
    assert server(normal) == normal


@PROPERTY
@given(servers(), CONTROLS, st.data())
def test_servers_with_whitespace_or_controls_are_rejected(
    case: tuple[str, str], junk: str, data: st.DataObject
) -> None:
    written, _ = case
    position = data.draw(st.integers(0, len(written)))
    with pytest.raises(ValueError, match="contains"):
        server(written[:position] + junk + written[position:])


@PROPERTY
@given(servers(), st.sampled_from(["http", "ftp", "file", "ws", "wss", "unix"]))
def test_other_schemes_are_rejected(case: tuple[str, str], scheme: str) -> None:
    _, normal = case
    with pytest.raises(ValueError, match=r"http://|has the scheme"):
        server(normal.replace("https", scheme, 1))


@PROPERTY
@given(servers(), st.sampled_from(["user@", "user:secret@", "@"]))
def test_userinfo_is_rejected(case: tuple[str, str], userinfo: str) -> None:
    _, normal = case
    with pytest.raises(ValueError, match="user information"):
        server(normal.replace("https://", "https://" + userinfo, 1))


@PROPERTY
@given(st.ip_addresses(v=6), PORTS)
def test_unbracketed_ipv6_is_rejected(address: ipaddress.IPv6Address, port: int) -> None:
    with pytest.raises(ValueError, match="without brackets"):
        server(f"https://{address}:{port}")


@PROPERTY
@given(st.text(max_size=60))
def test_any_text_is_accepted_or_rejected_with_value_error(value: str) -> None:
    try:
        normal = server(value)
    except ValueError as e:
        assert str(e).isprintable()
    else:
        assert normal.startswith("https://")
        assert server(normal) == normal

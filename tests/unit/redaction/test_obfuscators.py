"""The obfuscators against ``ipaddress`` (hypothesis) and must-gather-clean's documented cases."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from must_gather_api.redaction.config import (
    ObfuscateRule,
    ObfuscateType,
    ReplacementType,
    Target,
)
from must_gather_api.redaction.obfuscators import IPV4, MAC, build

CONSISTENT = {"replacement_type": ReplacementType.CONSISTENT, "target": Target.ALL}


def ip_rule(**extra: object) -> ObfuscateRule:
    return ObfuscateRule(type=ObfuscateType.IP, **{**CONSISTENT, **extra})  # type: ignore[arg-type]


def kept(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_loopback or address.is_unspecified


@given(st.ip_addresses(v=4), st.sampled_from([".", "-", "_"]))
def test_every_ipv4_address_in_every_spelling_is_replaced(
    address: ipaddress.IPv4Address, separator: str
) -> None:
    spelled = str(address).replace(".", separator)
    obfuscate = build(ip_rule())
    out = obfuscate(f"node ip-{spelled}.ec2 at {address} and ({address})\n")
    if kept(address):
        assert spelled in out
        return
    assert str(address) not in out
    assert spelled not in out
    assert (
        out == "node ip-x-ipv4-0000000001-x.ec2 at x-ipv4-0000000001-x and (x-ipv4-0000000001-x)\n"
    )
    [replacement] = obfuscate.replacements()
    assert replacement.canonical == str(address)
    assert sum(replacement.occurrences.values()) == 3


@given(st.ip_addresses(v=6))
def test_every_ipv6_address_compressed_or_exploded_gets_one_replacement(
    address: ipaddress.IPv6Address,
) -> None:
    obfuscate = build(ip_rule())
    out = obfuscate(f"a {address.compressed} b {address.exploded} c\n")
    if kept(address):
        return
    assert address.compressed not in out.split()
    assert address.exploded not in out
    assert out.count("x-ipv") == 2
    assert len(obfuscate.replacements()) == 1


@given(st.text(alphabet="0123456789.-_ abcdef:", max_size=40))
def test_the_ipv4_matcher_only_replaces_addresses(text: str) -> None:
    for match in IPV4.finditer(text):
        ipaddress.ip_address(match.group(0).replace("-", ".").replace("_", "."))


@given(st.binary(min_size=6, max_size=6), st.sampled_from([":", "-"]), st.booleans())
def test_every_mac_is_replaced_in_either_case(raw: bytes, separator: str, upper: bool) -> None:
    mac = separator.join(f"{b:02x}" for b in raw)
    mac = mac.upper() if upper else mac
    obfuscate = build(ObfuscateRule(type=ObfuscateType.MAC, **CONSISTENT))  # type: ignore[arg-type]
    out = obfuscate(f"link/ether {mac} brd ff:ff:ff:ff:ff:ff\n")
    assert mac not in out
    assert MAC.search(out) is None


def test_loopback_unspecified_uuids_versions_and_api_groups_stay() -> None:
    obfuscate = build(ip_rule())
    text = (
        "127.0.0.1 0.0.0.0 ::1 :: uuid 123e4567-e89b-12d3-a456-426614174000 "
        "v4.18.3 apps.openshift.io 12:30:45 image@sha256:0123abcd 0001.002.3.4\n"
    )
    assert obfuscate(text) == text
    mac = build(ObfuscateRule(type=ObfuscateType.MAC, **CONSISTENT))  # type: ignore[arg-type]
    assert mac(text) == text


def test_static_replacements_are_must_gather_cleans() -> None:
    ip = build(ObfuscateRule(type=ObfuscateType.IP))
    assert ip("10.1.2.3 fd00::1") == "xxx.xxx.xxx.xxx xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:xxxx"
    mac = build(ObfuscateRule(type=ObfuscateType.MAC))
    assert mac("aa-bb-cc-dd-ee-ff") == "xx:xx:xx:xx:xx:xx"
    domain = build(ObfuscateRule(type=ObfuscateType.DOMAIN, domain_names=("example.com",)))
    assert domain("api.example.com") == "api.obfuscated.com"


def test_domains_most_specific_first_subdomains_kept_others_untouched() -> None:
    rule = ObfuscateRule(
        type=ObfuscateType.DOMAIN,
        domain_names=("example.com", "prod.example.com"),
        **CONSISTENT,  # type: ignore[arg-type]
    )
    obfuscate = build(rule)
    out = obfuscate(
        "https://api.prod.example.com:6443 console.apps.Example.COM notexample.com "
        "example.community apps.openshift.io prod.example.com\n"
    )
    assert out == (
        "https://api.domain0000000001:6443 console.apps.domain0000000002 notexample.com "
        "example.community apps.openshift.io domain0000000001\n"
    )


def test_consistent_numbering_follows_first_appearance_and_a_seed_goes_on_after_it() -> None:
    obfuscate = build(ip_rule())
    assert obfuscate("10.0.0.2 10.0.0.1 10.0.0.2") == (
        "x-ipv4-0000000001-x x-ipv4-0000000002-x x-ipv4-0000000001-x"
    )
    seeded = build(ip_rule(replacement=(("10-0-0-1", "x-ipv4-0000000007-x"),)))
    assert seeded("10.0.0.1 10.0.0.9") == "x-ipv4-0000000007-x x-ipv4-0000000008-x"


def test_keywords_exact_and_regex() -> None:
    keywords = build(
        ObfuscateRule(
            type=ObfuscateType.KEYWORDS, replacement=(("acme", "customer"), ("acme-prod", "env"))
        )
    )
    assert keywords("acme-prod and acme") == "env and customer"
    exact = build(
        ObfuscateRule(type=ObfuscateType.EXACT, exact_replacements=(("a", "b"), ("b", "c")))
    )
    assert exact("ab") == "cc"  # in order, as must-gather-clean does
    assert exact.replacements()[0].occurrences == {"a": 1}
    regex = build(ObfuscateRule(type=ObfuscateType.REGEX, regex=r"token=\w+"))
    assert regex("x token=abc y") == "x xxxxxxxxx y"


def test_an_ipv6_address_before_a_colon_is_still_found() -> None:
    obfuscate = build(ip_rule())
    assert obfuscate("route fe80::1: unreachable; via 2001:db8::: x") == (
        "route x-ipv6-0000000001-x: unreachable; via x-ipv6-0000000002-x: x"
    )


@given(st.text(alphabet="0123456789.-_ ax:", max_size=60))
def test_the_fast_ipv4_scan_finds_what_the_precise_pattern_does(text: str) -> None:
    from must_gather_api.redaction.obfuscators import ip_canonical
    from must_gather_api.redaction.scanning import ipv4_spans

    fast = [(s, e) for s, e in ipv4_spans(text) if ip_canonical(text[s:e]) is not None]
    assert fast == [m.span() for m in IPV4.finditer(text)]


@given(st.text(alphabet="0123456789abcdefABCDEF:- xz", max_size=60))
def test_the_fast_mac_scan_finds_what_the_precise_pattern_does(text: str) -> None:
    from must_gather_api.redaction.scanning import mac_spans

    assert list(mac_spans(text)) == [m.span() for m in MAC.finditer(text)]

"""The obfuscators of must-gather-clean's rule types, over text.

Each takes a piece of text (a path, or a block of whole lines) and returns it with every
match replaced at its place. Differences from must-gather-clean, all on the side of
replacing less wrongly: matches need a boundary (``110.0.0.12`` does not hold ``10.0.0.1``),
an IPv6 candidate is only replaced when ``ipaddress`` reads it as an address (and its
compressed form is the canonical one, so every spelling of one address gets one
replacement), and loopback and unspecified addresses of both families are kept.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Protocol

from must_gather_api.redaction.config import ObfuscateRule, ObfuscateType, ReplacementType
from must_gather_api.redaction.scanning import ipv4_spans, ipv6_spans, mac_spans, substitute
from must_gather_api.redaction.tracking import Replacement, Tracker

# The precise patterns, as documentation and for tests; ``scanning`` finds the same faster.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = re.compile(
    rf"(?<![0-9.])(?:{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"
    rf"|{_OCTET}(?P<sep>[-_]){_OCTET}(?P=sep){_OCTET}(?P=sep){_OCTET})(?![0-9]|\.[0-9])"
)
_HEX = "[0-9A-Fa-f]"
IPV6 = re.compile(
    rf"(?<![0-9A-Za-z:.])(?:{_HEX}{{0,4}}:){{2,7}}"
    rf"(?:{_HEX}{{1,4}}|(?:[0-9]{{1,3}}\.){{3}}[0-9]{{1,3}}|(?<=::))(?![0-9A-Za-z]|:[0-9A-Fa-f:])"
)
MAC = re.compile(
    rf"(?<![0-9A-Fa-f:-]){_HEX}{{2}}(?P<sep>[:-])(?:{_HEX}{{2}}(?P=sep)){{4}}{_HEX}{{2}}"
    rf"(?![0-9A-Fa-f:-])"
)

_STATIC_IPV4 = "xxx.xxx.xxx.xxx"
_STATIC_IPV6 = "xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:xxxx"
_STATIC_MAC = "xx:xx:xx:xx:xx:xx"
_STATIC_DOMAIN = "obfuscated.com"


class Obfuscator(Protocol):
    rule: ObfuscateRule

    def __call__(self, text: str) -> str: ...

    def replacements(self) -> list[Replacement]: ...


def build(rule: ObfuscateRule, *, extra_domains: tuple[str, ...] = ()) -> Obfuscator:
    """The obfuscator of ``rule``; a Domain rule with ``clusterDomain`` adds ``extra_domains``."""
    if rule.type is ObfuscateType.IP:
        return IPObfuscator(rule)
    if rule.type is ObfuscateType.MAC:
        return MACObfuscator(rule)
    if rule.type is ObfuscateType.DOMAIN:
        return DomainObfuscator(rule, extra_domains if rule.cluster_domain else ())
    if rule.type is ObfuscateType.KEYWORDS:
        return KeywordsObfuscator(rule)
    if rule.type is ObfuscateType.EXACT:
        return ExactObfuscator(rule)
    return RegexObfuscator(rule)


class _Tracked:
    def __init__(self, rule: ObfuscateRule) -> None:
        self.rule = rule
        self.tracker = Tracker()
        self.tracker.seed(rule.replacement, self.canonical)

    def canonical(self, original: str) -> str:
        return original

    def maker(self, template: str, static: str) -> Callable[[], str]:
        if self.rule.replacement_type is ReplacementType.STATIC:
            return lambda: static
        return self.tracker.numbered(template)

    def replacements(self) -> list[Replacement]:
        return self.tracker.replacements()


def ip_canonical(text: str) -> str | None:
    """The address ``text`` spells (dashes or underscores for dots too), or None."""
    try:
        address = ipaddress.ip_address(text.replace("-", ".").replace("_", "."))
    except ValueError:
        return None
    return str(address)


def _kept(canonical: str) -> bool:
    address = ipaddress.ip_address(canonical)
    return address.is_loopback or address.is_unspecified


class IPObfuscator(_Tracked):
    def __init__(self, rule: ObfuscateRule) -> None:
        super().__init__(rule)
        self._v4 = self.maker("x-ipv4-{}-x", _STATIC_IPV4)
        self._v6 = self.maker("x-ipv6-{}-x", _STATIC_IPV6)
        # Spellings seen, with their canonical address (None: not one, or one that stays).
        self._seen: dict[str, str | None] = {}

    def canonical(self, original: str) -> str:
        return ip_canonical(original) or original

    def _one(self, text: str, make: Callable[[], str]) -> str | None:
        replaced = self._spelling(text, make)
        if replaced is None and text.endswith(":"):
            # "fe80::1:" at the end of a phrase: the address, then a colon.
            inner = self._spelling(text[:-1], make)
            return None if inner is None else inner + ":"
        return replaced

    def _spelling(self, text: str, make: Callable[[], str]) -> str | None:
        if text not in self._seen:
            self._seen[text] = self._canonical_of(text)
        canonical = self._seen[text]
        return None if canonical is None else self.tracker.replace(canonical, text, make)

    def _canonical_of(self, text: str) -> str | None:
        canonical = ip_canonical(text)
        if canonical is None or _kept(canonical):
            return None
        return canonical

    def __call__(self, text: str) -> str:
        text = substitute(text, ipv4_spans(text), lambda found: self._one(found, self._v4))
        return substitute(text, ipv6_spans(text), lambda found: self._one(found, self._v6))


class MACObfuscator(_Tracked):
    def __init__(self, rule: ObfuscateRule) -> None:
        super().__init__(rule)
        self._make = self.maker("x-mac-{}-x", _STATIC_MAC)

    def canonical(self, original: str) -> str:
        return original.upper().replace("-", ":")

    def __call__(self, text: str) -> str:
        return substitute(
            text,
            mac_spans(text),
            lambda found: self.tracker.replace(self.canonical(found), found, self._make),
        )


class DomainObfuscator(_Tracked):
    """The most specific domain first; subdomain labels are kept, the domain replaced:
    ``api.cluster.example.com`` with ``example.com`` -> ``api.cluster.domain0000000001``."""

    def __init__(self, rule: ObfuscateRule, extra: tuple[str, ...]) -> None:
        super().__init__(rule)
        names = sorted(set(rule.domain_names) | {d.lower() for d in extra}, key=len, reverse=True)
        self.names = tuple(names)
        self._make = self.maker("domain{}", _STATIC_DOMAIN)
        self._pattern = (
            re.compile(
                r"(?<![A-Za-z0-9-])(?P<sub>(?:[A-Za-z0-9-]+\.)*?)"
                rf"(?P<base>{'|'.join(re.escape(n) for n in names)})(?![A-Za-z0-9-])",
                re.IGNORECASE,
            )
            if names
            else None
        )

    def canonical(self, original: str) -> str:
        return original.lower()

    def _one(self, match: re.Match[str]) -> str:
        base = match.group("base")
        # The base as written is the original: the report then maps it back, and replays.
        return match.group("sub") + self.tracker.replace(base.lower(), base, self._make)

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(self._one, text)


class KeywordsObfuscator(_Tracked):
    def __init__(self, rule: ObfuscateRule) -> None:
        self.rule = rule
        self.tracker = Tracker()
        self._by_keyword = dict(rule.replacement)
        keywords = sorted(self._by_keyword, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(k) for k in keywords))

    def __call__(self, text: str) -> str:
        return self._pattern.sub(
            lambda m: self.tracker.replace(
                m.group(0), m.group(0), lambda: self._by_keyword[m.group(0)]
            ),
            text,
        )


class ExactObfuscator(_Tracked):
    def __call__(self, text: str) -> str:
        for original, replacement in self.rule.exact_replacements:
            count = text.count(original)
            if count:
                self.tracker.replace(original, original, _constant(replacement), count)
                text = text.replace(original, replacement)
        return text


def _constant(value: str) -> Callable[[], str]:
    return lambda: value


class RegexObfuscator(_Tracked):
    """must-gather-clean's Regex: every match becomes as many ``x`` as it has characters."""

    def __init__(self, rule: ObfuscateRule) -> None:
        super().__init__(rule)
        self._pattern = re.compile(rule.regex)

    def __call__(self, text: str) -> str:
        return self._pattern.sub(
            lambda m: self.tracker.replace(m.group(0), m.group(0), lambda: "x" * len(m.group(0))),
            text,
        )

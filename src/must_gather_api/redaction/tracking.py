"""What replaced what: one tracker per rule, so a value gets one replacement everywhere.

A value is tracked by its canonical form (``10.0.0.1`` for ``10-0-0-1`` too, upper-case
``AA:BB:...`` for a MAC, the lower-case base domain), and each original spelling is
counted, as must-gather-clean's report has them. Consistent replacements are numbered in
the order values are first seen (``x-ipv4-0000000001-x``); a tracker seeded from a report
goes on numbering after the highest number it was given, so it never reuses one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

_NUMBER = re.compile(r"(\d{10})")
_MAXIMUM = 9_999_999_999


class TooManyValues(ValueError):
    """A Consistent rule ran out of numbers (ten digits)."""


@dataclass
class Replacement:
    canonical: str
    replaced_with: str
    occurrences: dict[str, int] = field(default_factory=dict)


class Tracker:
    """Replacements of one rule. Not thread-safe: one redaction runs in one thread."""

    def __init__(self) -> None:
        self._by_canonical: dict[str, Replacement] = {}
        self._counters: dict[str, int] = {}

    def seed(self, pairs: Iterable[tuple[str, str]], canonical: Callable[[str], str]) -> None:
        """Reuse replacements made before (a report's ``replacement`` map)."""
        for original, replaced_with in pairs:
            key = canonical(original)
            if key not in self._by_canonical:
                self._by_canonical[key] = Replacement(key, replaced_with)
            number = _NUMBER.search(replaced_with)
            if number is not None:
                template = replaced_with.replace(number.group(1), "{}", 1)
                self._counters[template] = max(
                    self._counters.get(template, 0), int(number.group(1))
                )

    def replace(
        self, canonical: str, original: str, make: Callable[[], str], count: int = 1
    ) -> str:
        found = self._by_canonical.get(canonical)
        if found is None:
            found = Replacement(canonical, make())
            self._by_canonical[canonical] = found
        found.occurrences[original] = found.occurrences.get(original, 0) + count
        return found.replaced_with

    def numbered(self, template: str) -> Callable[[], str]:
        """A maker of ``template`` with the next number (``template`` holds one ``{}``)."""

        def make() -> str:
            number = self._counters.get(template, 0) + 1
            if number > _MAXIMUM:
                raise TooManyValues(f"more than {_MAXIMUM} values for {template}")
            self._counters[template] = number
            return template.format(f"{number:010d}")

        return make

    def replacements(self) -> list[Replacement]:
        """Those used in this run (seeded ones that never occurred are left out)."""
        return [r for r in self._by_canonical.values() if r.occurrences]

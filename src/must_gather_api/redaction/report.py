"""The redaction report, in must-gather-clean's ``report.yaml`` form.

``replacements``: one list per obfuscate rule, in the configuration's order, of
{canonical, replacedWith, occurrences: [{original, count}]}; ``omissions``: the paths left
out (relative to the gathered root); ``config``: the configuration used, each rule's
``replacement`` map filled with what it replaced, so the report read back as a
configuration reproduces the same replacements. It maps every fake value back to the real
one: it is never put in the archive, and only the admin permission may read it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import yaml

from must_gather_api.redaction.config import ObfuscateRule, RedactionConfig
from must_gather_api.redaction.tracking import Replacement


@dataclass(frozen=True)
class RuleReport:
    rule: ObfuscateRule
    replacements: tuple[Replacement, ...]

    @property
    def occurrences(self) -> int:
        return sum(sum(r.occurrences.values()) for r in self.replacements)


@dataclass(frozen=True)
class RedactionReport:
    config: RedactionConfig
    rules: tuple[RuleReport, ...]
    omissions: tuple[str, ...]
    # Why a member was left out when no omit rule named it (it could not be cleaned).
    uncleaned: tuple[tuple[str, str], ...] = ()

    @property
    def replaced(self) -> int:
        """Occurrences replaced, over every rule."""
        return sum(rule.occurrences for rule in self.rules)

    def to_document(self) -> dict[str, Any]:
        replayable = dataclasses.replace(
            self.config,
            obfuscate=tuple(
                _with_replacements(rule.rule, rule.replacements) for rule in self.rules
            ),
        )
        document: dict[str, Any] = {
            "replacements": [
                [
                    {
                        "canonical": r.canonical,
                        "replacedWith": r.replaced_with,
                        "occurrences": [
                            {"original": original, "count": count}
                            for original, count in sorted(r.occurrences.items())
                        ],
                    }
                    for r in rule.replacements
                ]
                for rule in self.rules
            ],
            "omissions": list(self.omissions),
        }
        if self.uncleaned:
            document["notCleaned"] = [
                {"path": path, "reason": reason} for path, reason in self.uncleaned
            ]
        document["config"] = replayable.to_document()["config"]
        return document

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_document(), sort_keys=False, allow_unicode=True)


def _with_replacements(rule: ObfuscateRule, replacements: tuple[Replacement, ...]) -> ObfuscateRule:
    pairs = dict(rule.replacement)
    for replacement in replacements:
        for original in replacement.occurrences:
            pairs.setdefault(original, replacement.replaced_with)
    return dataclasses.replace(rule, replacement=tuple(pairs.items()))

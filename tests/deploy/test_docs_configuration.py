"""docs/configuration.md embeds the settings table the model generates, so it cannot drift."""

from __future__ import annotations

import re

from deploy.rendering import ROOT
from must_gather_api.cli import settings_help
from must_gather_api.settings import Settings

DOC = ROOT / "docs" / "configuration.md"
BLOCK = re.compile(r"(<!-- settings-table:start[^>]*-->\n)(.*?)(<!-- settings-table:end -->)", re.S)


def test_the_configuration_reference_is_the_generated_table() -> None:
    match = BLOCK.search(DOC.read_text())
    assert match is not None, "docs/configuration.md lost its settings-table markers"
    assert match.group(2).strip() == settings_help.as_markdown().strip(), (
        "docs/configuration.md's settings table is out of date: run `make docs`"
    )


def test_every_setting_is_listed_once() -> None:
    listed = re.findall(r"^\| `([A-Z_]+)` \|", DOC.read_text(), re.M)
    assert sorted(listed) == sorted(name.upper() for name in Settings.model_fields)

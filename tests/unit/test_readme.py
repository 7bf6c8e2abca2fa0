"""The README's configuration table is the settings model's, so the two cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

from must_gather_api.cli import settings_help

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"(<!-- settings-table:start[^>]*-->\n)(.*?)(<!-- settings-table:end -->)", re.S)


def test_the_readme_lists_every_setting_with_its_default() -> None:
    match = BLOCK.search(README.read_text())
    assert match is not None, "README.md lost its settings-table markers"
    assert match.group(2).strip() == settings_help.as_markdown().strip(), (
        "README.md's settings table is out of date: run `make readme`"
    )

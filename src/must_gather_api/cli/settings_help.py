"""The table of settings, made from the settings model so that it cannot drift."""

from __future__ import annotations

from datetime import timedelta
from enum import Enum
from typing import Any

from must_gather_api.setting_values import compact_duration
from must_gather_api.settings import Settings


def _default_text(value: Any) -> str:
    if value is None or value == ():
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return compact_duration(value)
    if isinstance(value, Enum):
        return str(value.value)
    return str(value) if str(value) != "" else "(not set)"


def rows() -> list[tuple[str, str, str]]:
    """(VARIABLE, default, description) for every setting."""
    table = []
    for name, field in Settings.model_fields.items():
        default = field.default
        if name == "cleanup_max_age":
            default_text = "-1"
        elif name == "port":
            default_text = "8443 with TLS, 8080 without"
        else:
            default_text = _default_text(default)
        table.append((name.upper(), default_text, field.description or ""))
    return table


def as_text() -> str:
    width = max(len(name) for name, _, _ in rows())
    lines = ["Environment variables (default in brackets):", ""]
    for name, default, description in rows():
        lines.append(f"  {name.ljust(width)}  {description} [{default}]")
    return "\n".join(lines)


def as_markdown() -> str:
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, default, description in rows():
        escaped = description.replace("|", "\\|")
        lines.append(f"| `{name}` | `{default}` | {escaped} |")
    return "\n".join(lines)

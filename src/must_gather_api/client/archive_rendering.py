"""How the archive's files and findings look in a terminal (JSON is the server's, as is)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from must_gather_api.client.rendering import Screen, human_size

SEVERITY_STYLES = {"error": "bold red", "warning": "yellow", "info": "dim"}


def files_table(screen: Screen, items: list[dict[str, Any]]) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    table.add_column("TYPE", no_wrap=True)
    table.add_column("SIZE", no_wrap=True, justify="right")
    table.add_column("MODIFIED", no_wrap=True)
    table.add_column("PATH", no_wrap=True)
    for item in items:
        is_file = item.get("type") == "file"
        path = str(item.get("path", ""))
        if item.get("target"):
            path += f" -> {item['target']}"
        table.add_row(
            str(item.get("type", "")),
            human_size(int(item.get("size") or 0)) if is_file else "-",
            str(item.get("mtime", "")).replace("T", " ").removesuffix("Z"),
            path,
        )
    screen.console.print(table)


def _counts_line(counts: dict[str, int]) -> Text:
    line = Text()
    for severity in ("error", "warning", "info"):
        number = int(counts.get(severity, 0))
        style = SEVERITY_STYLES[severity] if number else "dim"
        line.append(f"{number} {severity}{'s' if number != 1 else ''}", style=style)
        line.append("  ")
    return line


def summary_view(screen: Screen, reference: str, body: dict[str, Any]) -> None:
    """Counts, what gathered the data, then one row per finding, errors first."""
    headline = Text(f"gathering {reference}: ", style="bold")
    headline.append_text(_counts_line(body.get("counts") or {}))
    screen.console.print(headline, soft_wrap=True)
    for product in body.get("products") or []:
        screen.line(f"  {product.get('product')} {product.get('version')}", style="dim")
    findings = body.get("findings") or []
    if findings:
        table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
        table.add_column("SEVERITY", no_wrap=True)
        table.add_column("AREA", no_wrap=True)
        table.add_column("OBJECT", overflow="fold")
        table.add_column("MESSAGE", overflow="fold")
        for finding in findings:
            severity = str(finding.get("severity", ""))
            message = Text(str(finding.get("message", "")))
            details = finding.get("details") or []
            if details:
                message.append(f"\n{details[-1]}", style="dim")
            table.add_row(
                Text(severity, style=SEVERITY_STYLES.get(severity, "")),
                str(finding.get("area", "")),
                str(finding.get("object", "")),
                message,
            )
        screen.console.print(table)
    for error in body.get("analyzer-errors") or []:
        screen.line(f"note: {error}", style="yellow")
    screen.line(
        f"evidence: must-gather-api summary {reference} --output json; "
        f"must-gather-api files {reference} PATH",
        style="dim",
    )

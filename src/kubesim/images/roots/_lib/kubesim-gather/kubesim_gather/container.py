"""Where the container's files are, and how a script talks to its log."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

MUST_GATHER = "/must-gather"


def container_path(path: str) -> Path:
    """The host path of ``path`` inside the container (kubesim maps ``/`` to KUBESIM_ROOT)."""
    root = os.environ.get("KUBESIM_ROOT") or "/"
    return Path(root) / path.lstrip("/")


def must_gather_dir() -> Path:
    out = container_path(MUST_GATHER)
    out.mkdir(parents=True, exist_ok=True)
    return out


def say(line: str) -> None:
    """A progress line on stdout, flushed so that ``logs -f`` shows it at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def warn(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def write_yaml(path: Path, obj: Any) -> None:
    """Writes ``obj`` as YAML: JSON is valid YAML, and every YAML reader takes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_version(product: str, version: str) -> None:
    (must_gather_dir() / "version").write_text(f"{product}\n{version}\n", encoding="utf-8")


def as_list(kind: str, api_version: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": f"{kind}List", "metadata": {}, "items": items}

"""Rendering the kustomize tree under deploy/ with the kustomize built into kubectl, and
finding things in what it renders.

Besides the two overlays, each overlay is rendered with both components, from a copy of
the tree (kustomize refuses absolute paths), as a cluster administrator composes them.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim.pytest_plugin import KUBECTL, kubectl_binary

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("openshift", "kubernetes")
COMPONENTS = ("persistence", "service-credentials", "cores")
VARIANTS = (*OVERLAYS, *(f"{overlay}+components" for overlay in OVERLAYS))
# The node side of core dumps, applied beside an overlay (its objects name their namespaces).
NODE_SIDES = {"kubernetes": "cores", "openshift": "overlays/openshift/cores"}

Render = Callable[[str], list[dict[str, Any]]]


def kustomize(directory: Path, tmp_home: Path) -> list[dict[str, Any]]:
    binary = kubectl_binary()
    if binary is None:
        pytest.skip(f"kubectl is not installed ({KUBECTL} missing)")
    done = subprocess.run(
        [binary, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_home), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize {directory} failed: {done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def render_variant(tree: Path, variant: str, home: Path) -> list[dict[str, Any]]:
    """``openshift``, ``openshift+components`` (all of COMPONENTS), ``openshift+a,b`` (the
    components named) or ``openshift:cores`` (the node side) rendered from ``tree``, a copy
    of deploy/."""
    if variant.endswith(":cores"):
        return kustomize(tree / NODE_SIDES[variant.removesuffix(":cores")], home)
    overlay, _, extra = variant.partition("+")
    directory = tree / "overlays" / overlay
    if extra:
        names = COMPONENTS if extra == "components" else tuple(extra.split(","))
        directory = tree / "variants" / f"{overlay}+{extra}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "kustomization.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": [f"../../overlays/{overlay}"],
                    "components": [f"../../components/{name}" for name in names],
                }
            )
        )
    return kustomize(directory, home)


def copy_tree(work: Path) -> Path:
    tree = work / "deploy"
    shutil.copytree(DEPLOY, tree)
    return tree


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]

"""The rendered manifests, once per session (kubectl kustomize takes a moment)."""

from __future__ import annotations

from typing import Any

import pytest

from deploy.rendering import Render, copy_tree, render_variant


@pytest.fixture(scope="session")
def render(tmp_path_factory: pytest.TempPathFactory) -> Render:
    """``render("openshift")``, ``render("openshift+components")`` or
    ``render("openshift:cores")``: the objects, cached."""
    cache: dict[str, list[dict[str, Any]]] = {}
    work = tmp_path_factory.mktemp("kustomize")
    tree = copy_tree(work)

    def run(variant: str) -> list[dict[str, Any]]:
        if variant not in cache:
            cache[variant] = render_variant(tree, variant, work)
        return cache[variant]

    return run

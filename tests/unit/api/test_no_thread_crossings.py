"""Every route and dependency of the app is a coroutine: FastAPI runs a plain ``def`` in its
thread pool, one thread crossing per request, and under load each crossing costs
milliseconds of a poll's p99 (see README, "Performance")."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from must_gather_api.app import create_app
from support.executors import FakeExecutor
from support.service import make_settings

pytestmark = pytest.mark.timeout(30)


def _calls(dependant: Dependant) -> list[object]:
    found: list[object] = [dependant.call]
    for sub in dependant.dependencies:
        found += _calls(sub)
    return found


def test_every_route_and_dependency_is_a_coroutine(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), executor=FakeExecutor())
    routes: list[APIRoute] = []
    for route in app.routes:
        # FastAPI 0.16x keeps an included router whole (``original_router``); earlier ones
        # copied its routes into the app's. The count below fails if neither holds.
        included = getattr(route, "original_router", None)
        for candidate in included.routes if included is not None else [route]:
            if isinstance(candidate, APIRoute):
                routes.append(candidate)
    assert len(routes) > 25  # the whole API, not an empty app
    plain = {
        f"{route.path}: {getattr(call, '__qualname__', call)}"
        for route in routes
        for call in _calls(route.dependant)
        if call is not None and not inspect.iscoroutinefunction(call)
    }
    assert plain == set()

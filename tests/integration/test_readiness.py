"""/readyz: ready while the store answers and the data directory (a shared volume with
several replicas) is there; a full disk still counts as ready."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.executors import FakeExecutor
from support.service import make_settings, running_app

pytestmark = pytest.mark.asyncio


async def test_not_ready_while_the_data_directory_is_gone(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with running_app(settings, executor=FakeExecutor()) as (_, api):
        assert (await api.get("/readyz")).status_code == 200
        # The volume unmounted under the pod.
        settings.data_dir.rename(tmp_path / "unmounted")
        response = await api.get("/readyz")
        assert response.status_code == 503
        assert response.json()["detail"] == "not ready: the data directory cannot be reached"
        assert str(tmp_path) not in response.text
        (tmp_path / "unmounted").rename(settings.data_dir)
        assert (await api.get("/readyz")).status_code == 200

"""A whole gathering with DEBUG on: the caller's token is nowhere to be found afterwards."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from kubesim.cluster import Cluster
from must_gather_api.auth.kubernetes import KubernetesAuthenticator
from must_gather_api.cli.serving import configure_logging
from support.executors import FakeExecutor
from support.service import make_settings, running_app

pytestmark = pytest.mark.asyncio

TOKEN = "sha256~ThisIsTheCallersOwnSecretToken0123456789"


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


@pytest.mark.parametrize(
    ("image", "status"), [("fake/leaky", "completed"), ("fake/leaky-failure", "error")]
)
async def test_the_token_reaches_no_log_file_database_or_response(
    kubesim: Cluster, tmp_path: Path, caplog: pytest.LogCaptureFixture, image: str, status: str
) -> None:
    kubesim.users.add(TOKEN, kubesim.users.authenticate("admin-token"))  # type: ignore[arg-type]
    kubeconfig = kubesim.write_kubeconfig(tmp_path / "service.kubeconfig")
    service_dir = tmp_path / "service"
    settings = make_settings(
        service_dir,
        auth="kubernetes",
        use_kubeconfig="true",
        kubeconfig=str(kubeconfig),
        debug="true",
    )
    configure_logging(settings)
    caplog.set_level(logging.DEBUG)
    headers = {"authorization": f"Bearer {TOKEN}"}
    texts: list[str] = []
    authenticator = await KubernetesAuthenticator.create(settings)
    async with running_app(settings, executor=FakeExecutor(), authenticator=authenticator) as (
        _app,
        client,
    ):
        created = await client.post("/must-gather", headers=headers, json={"image": image})
        texts.append(created.text)
        for _ in range(500):
            shown = await client.get("/must-gather/1", headers=headers)
            texts.append(shown.text)
            if shown.json()["status"] in ("completed", "error"):
                break
            await asyncio.sleep(0.01)
        for url in ("/must-gather", "/must-gather/1/logs", "/must-gather/1/data", "/metrics"):
            texts.append((await client.get(url, headers=headers)).content.decode("latin-1"))
        texts.append(
            (await client.get("/must-gather/1", headers={"authorization": "Bearer x"})).text
        )
    assert shown.json()["status"] == status
    output = await asyncio.to_thread((service_dir / "data/gatherings/1/output.log").read_text)
    if status == "completed":
        assert "using token <redacted>" in output
        assert "Bearer <redacted>" in output and "abcdefghijklmnop0123" not in output
    else:
        reason = shown.json()["error-reason"]
        assert "token <redacted> refused" in reason and "Bearer <redacted>" in reason, reason
    assert "abcdefghijklmnop0123" not in "".join(texts)
    assert [text for text in texts if TOKEN in text] == []
    assert [r.getMessage() for r in caplog.records if TOKEN in r.getMessage()] == []
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert files_containing(service_dir, TOKEN.encode()) == []

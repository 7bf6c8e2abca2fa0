"""Image pulls from the catalogue: messages, waiting states, events and imageID."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from kubesim import kinds
from kubesim.faults import Faults
from kubesim.images import ImageCatalogue
from kubesim.kubelet import Kubelet, KubeletTimings
from kubesim.kubelet.pulling import full_reference, pull, pull_policy
from kubesim.store import Store

UNPULLABLE = "kubesim.local/must-gather-unpullable"


def test_pull_results() -> None:
    images = ImageCatalogue.default()
    ok = pull(images, "busybox")
    assert ok.image is not None and ok.image.image_id.startswith(
        "docker.io/library/busybox@sha256:"
    )

    missing = pull(images, "quay.io/nobody/nothing:1.0")
    assert missing.image is None and missing.reason == "ErrImagePull"
    assert missing.message == (
        "rpc error: code = NotFound desc = failed to pull and unpack image "
        '"quay.io/nobody/nothing:1.0": failed to resolve reference "quay.io/nobody/nothing:1.0": '
        "quay.io/nobody/nothing:1.0: not found"
    )

    denied = pull(images, UNPULLABLE)
    assert denied.reason == "ErrImagePull"
    assert "401 Unauthorized" in denied.message

    invalid = pull(images, "Not A Reference")
    assert invalid.reason == "InvalidImageName"


def test_references_and_policies() -> None:
    assert full_reference("busybox") == "docker.io/library/busybox:latest"
    assert full_reference("quay.io/a/b:1") == "quay.io/a/b:1"
    assert pull_policy("busybox", None) == "Always"
    assert pull_policy("busybox:1.36", None) == "IfNotPresent"
    assert pull_policy("busybox:1.36", "Never") == "Never"


@pytest_asyncio.fixture
async def kubelet(tmp_path: Path) -> AsyncIterator[Kubelet]:
    store = Store()
    store.create(kinds.NAMESPACES, {"metadata": {"name": "default"}})
    store.create(
        kinds.NODES,
        {
            "metadata": {"name": "worker-0"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        },
    )
    ca = tmp_path / "ca.crt"
    ca.write_text("CA")
    kubelet = Kubelet(
        store=store,
        images=ImageCatalogue.default(),
        state_dir=tmp_path / "state",
        api_url="https://127.0.0.1:6443",
        ca_file=ca,
        faults=Faults(store=store),
        token_for_service_account=lambda ns, name: "token",
        timings=KubeletTimings(pull_error_seconds=0.2, pull_backoff_seconds=0.2),
    )
    await kubelet.start()
    try:
        yield kubelet
    finally:
        await kubelet.stop()


async def states(
    store: Store, name: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """Every state the container went through until ``done`` says enough."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(10), store.watch(kinds.PODS) as watch:
        async for _, pod in watch:
            if pod["metadata"]["name"] != name:
                continue
            for status in pod.get("status", {}).get("containerStatuses", []):
                if not seen or seen[-1] != status["state"]:
                    seen.append(status["state"])
            if seen and done(seen):
                return seen
    raise AssertionError("watch ended")


def pod(name: str, image: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": image, "command": ["true"]}],
        },
    }


@pytest.mark.asyncio
async def test_unknown_image_goes_err_image_pull_then_backoff(kubelet: Kubelet) -> None:
    store = kubelet.store
    store.create(kinds.PODS, pod("nope", "quay.io/nobody/nothing:1.0"))
    seen = await states(
        store,
        "nope",
        lambda s: sum(st.get("waiting", {}).get("reason") == "ImagePullBackOff" for st in s) >= 2,
    )
    reasons = [s["waiting"]["reason"] for s in seen if "waiting" in s]
    assert reasons[:4] == ["ContainerCreating", "ErrImagePull", "ImagePullBackOff", "ErrImagePull"]
    backoff = next(
        s["waiting"] for s in seen if s.get("waiting", {}).get("reason") == "ImagePullBackOff"
    )
    assert backoff["message"].startswith(
        'Back-off pulling image "quay.io/nobody/nothing:1.0": ErrImagePull: '
    )
    current = store.get(kinds.PODS, "nope", namespace="default")
    assert current["status"]["phase"] == "Pending"
    events = [
        (e["type"], e["reason"], e["message"])
        for e in store.list(kinds.EVENTS, namespace="default")
    ]
    assert ("Warning", "Failed", "Error: ErrImagePull") in events
    assert ("Warning", "Failed", "Error: ImagePullBackOff") in events
    assert ("Normal", "BackOff", 'Back-off pulling image "quay.io/nobody/nothing:1.0"') in events


@pytest.mark.asyncio
async def test_unpullable_image_is_err_image_pull(kubelet: Kubelet) -> None:
    kubelet.store.create(kinds.PODS, pod("denied", UNPULLABLE))
    seen = await states(
        kubelet.store,
        "denied",
        lambda s: "waiting" in s[-1] and s[-1]["waiting"]["reason"] == "ErrImagePull",
    )
    assert "401 Unauthorized" in seen[-1]["waiting"]["message"]


@pytest.mark.asyncio
async def test_pulled_image_reports_its_digest(kubelet: Kubelet) -> None:
    kubelet.store.create(kinds.PODS, pod("ok", "busybox"))
    await states(kubelet.store, "ok", lambda s: "terminated" in s[-1])
    status = kubelet.store.get(kinds.PODS, "ok", namespace="default")["status"]
    expected = ImageCatalogue.default().resolve("busybox")
    assert expected is not None
    assert status["containerStatuses"][0]["imageID"] == expected.image_id
    assert status["phase"] == "Succeeded"

"""``ClusterCalls`` on its own: bounded connects, and upstream messages kept short."""

from __future__ import annotations

import json
import time

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from must_gather_api.executors.kubernetes.calls import ClusterCalls, explain
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed
from must_gather_api.kube.failures import UPSTREAM_MAX, clipped


@pytest.mark.asyncio
async def test_an_exec_connect_that_gets_no_answer_is_bounded(
    silent_server: tuple[str, list[int]],
) -> None:
    host, accepted = silent_server
    configuration = client.Configuration(host=host)
    started = time.monotonic()
    async with ClusterCalls(
        client.ApiClient(configuration), request_timeout=0.3, deadline=started + 1.0
    ) as calls:
        with pytest.raises(ClusterCallFailed, match="did not answer in time"):
            async with calls.exec_stream(
                "ns", "pod", container="copy", command=["true"], what="exec"
            ):
                pass
    # Each attempt waited the request timeout, then retried within the deadline.
    assert time.monotonic() - started < 5
    assert 2 <= len(accepted) <= 4


def test_upstream_messages_are_clipped_to_one_short_line() -> None:
    page = "<html>\n" + "x" * 10_000 + "\n</html>"
    error = ApiException(status=500, reason="Internal Server Error")
    error.body = json.dumps({"kind": "Status", "message": page}).encode()
    reason = explain(error, "create the pod").reason
    assert "\n" not in reason
    assert len(reason) < UPSTREAM_MAX + 80
    assert reason.endswith("…")
    assert clipped("short\tmessage\r\n") == "short message"

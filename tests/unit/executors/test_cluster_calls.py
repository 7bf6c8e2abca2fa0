"""``ClusterCalls`` on its own: bounded connects, upstream messages kept short, and error
answers to streams raised as errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim.pytest_plugin import ClusterFactory
from must_gather_api.executors.kubernetes.calls import ClusterCalls, explain
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed
from must_gather_api.kube.failures import UPSTREAM_MAX, clipped
from support.native import access_for


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


@pytest.mark.asyncio
async def test_an_error_answer_to_a_log_stream_is_raised_not_read_as_the_log(
    kubesim_factory: ClusterFactory, tmp_path: Path
) -> None:
    cluster = await kubesim_factory(seed=False)
    cluster.faults.apply_spec("api-error=500:count=2:path=/log$")
    access = await access_for(cluster, tmp_path)
    retried: list[str] = []
    async with ClusterCalls(
        access.api_client(),
        request_timeout=5,
        deadline=time.monotonic() + 20,
        on_retry=lambda what, error, delay: retried.append(what),
    ) as calls:
        with pytest.raises(ClusterCallFailed) as raised:
            async with calls.log_stream(
                "default", "absent", query={"container": "gather"}, what="read the log"
            ) as response:
                pytest.fail(f"an error was served as a log: {await response.text()}")
    # the 500s were retried, as transient; the pod's absence (404) was not
    assert retried == ["read the log", "read the log"]
    assert raised.value.status == 404
    assert "absent" in raised.value.reason

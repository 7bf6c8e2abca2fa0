"""Every route, status code and error body of the API, against the app with a fake executor."""

from __future__ import annotations

import asyncio
import hashlib
import re
import tarfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio
from fastapi import FastAPI

from support.executors import FakeExecutor
from support.service import make_settings, running_app

OLD_KEYS = [
    "id",
    "created-at",
    "updated-at",
    "custom-name",
    "status",
    "image",
    "image-stream",
    "node-name",
    "command",
    "source-dir",
    "timeout",
    "server",
    "archive-size",
    "archive-name",
    "exec-output",
]

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def executor() -> FakeExecutor:
    return FakeExecutor()


@pytest_asyncio.fixture
async def service(
    tmp_path: Path, executor: FakeExecutor
) -> AsyncIterator[tuple[FastAPI, httpx2.AsyncClient]]:
    async with running_app(make_settings(tmp_path), executor=executor) as running:
        yield running


@pytest_asyncio.fixture
async def api(service: tuple[FastAPI, httpx2.AsyncClient]) -> httpx2.AsyncClient:
    return service[1]


async def finished(api: httpx2.AsyncClient, reference: str | int) -> dict[str, Any]:
    """Poll as the UIs do until the gathering ends (the fake executor ends in milliseconds)."""
    for _ in range(400):
        body: dict[str, Any] = (await api.get(f"/must-gather/{reference}")).json()
        if body["status"] in ("completed", "error"):
            return body
        await asyncio.sleep(0.01)
    raise AssertionError(f"gathering {reference} did not finish: {body}")


def assert_problem(response: httpx2.Response, status: int, *needles: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    for needle in needles:
        assert needle in body["detail"], body
    assert "Traceback" not in response.text
    return body


# -- POST ------------------------------------------------------------------------------


async def test_post_returns_201_with_the_full_object_in_the_old_key_order(
    api: httpx2.AsyncClient,
) -> None:
    response = await api.post(
        "/must-gather", json={"image": "quay.io/kubev2v/forklift-must-gather", "timeout": "15m"}
    )
    assert response.status_code == 201
    body = response.json()
    assert list(body)[: len(OLD_KEYS)] == OLD_KEYS
    assert body["status"] == "new"
    assert body["timeout"] == "15m"
    assert isinstance(body["id"], int) and isinstance(body["archive-size"], int)
    assert body["created-at"].endswith("Z") and "T" in body["created-at"]


async def test_defaults_are_read_from_the_environment_at_request_time(
    api: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIMEOUT", "123m")
    monkeypatch.setenv("MUST_GATHER_IMAGE", "quay.io/example/gather:v2")
    body = (await api.post("/must-gather", json={})).json()
    assert (body["timeout"], body["image"]) == ("123m", "quay.io/example/gather:v2")


async def test_default_image_and_timeout_when_not_set(
    api: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIMEOUT", raising=False)
    monkeypatch.delenv("MUST_GATHER_IMAGE", raising=False)
    body = (await api.post("/must-gather")).json()
    assert (body["image"], body["timeout"]) == ("quay.io/kubev2v/forklift-must-gather", "20m")


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"", {}),
        (b"{}", {"content-type": "application/json"}),
        (b"", {"content-type": "application/json"}),
        (b"", {"content-type": "application/x-www-form-urlencoded"}),
    ],
    ids=["empty-no-type", "empty-object", "empty-json", "empty-form"],
)
async def test_empty_bodies_mean_all_defaults(
    api: httpx2.AsyncClient, content: bytes, headers: dict[str, str]
) -> None:
    response = await api.post("/must-gather", content=content, headers=headers)
    assert response.status_code == 201, response.text


async def test_the_old_form_encoding_is_accepted(api: httpx2.AsyncClient) -> None:
    response = await api.post(
        "/must-gather",
        content=b"custom-name=forklift-plan1&command=PLAN%3Dplan1+%2Fusr%2Fbin%2Ftargeted",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201
    assert response.json()["command"] == "PLAN=plan1 /usr/bin/targeted"
    assert response.json()["custom-name"] == "forklift-plan1"


async def test_image_stream_alone_adds_no_default_image(api: httpx2.AsyncClient) -> None:
    body = (await api.post("/must-gather", json={"image-stream": "openshift/must-gather"})).json()
    assert body["image"] == ""
    assert body["image-stream"] == "openshift/must-gather"


@pytest.mark.parametrize(
    "key", ["id", "status", "exec-output", "created-at", "archive-name", "archive-size", "token"]
)
async def test_read_only_and_unknown_keys_are_refused(api: httpx2.AsyncClient, key: str) -> None:
    response = await api.post("/must-gather", json={key: 7 if key in ("id",) else "x"})
    body = assert_problem(response, 400, key, "not a parameter")
    assert body["field"] == key
    assert (await api.get("/must-gather")).json() == []


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("timeout", "15x", "not a duration"),
        ("timeout", "0s", ""),
        ("timeout", "100h", "maximum"),
        ("image", "--dest-dir=/tmp/x", ""),
        ("image", "Quay.io/UPPER/Case name", ""),
        ("image-stream", "no-slash", ""),
        ("node-name", "node_with_underscore", ""),
        ("source-dir", "relative/path", ""),
        ("server", "http://plain.example:6443", "http"),
        ("custom-name", "a/b", "/"),
        ("custom-name", "line\r\nbreak", ""),
        ("command", "PLAN='unbalanced /usr/bin/targeted", "quot"),
        ("command", "PLAN=only", ""),
    ],
)
async def test_bad_values_are_rejected_naming_the_field(
    api: httpx2.AsyncClient, field: str, value: str, says: str
) -> None:
    response = await api.post("/must-gather", json={field: value})
    body = assert_problem(response, 400, f"{field}:", says)
    assert body["field"] == field


async def test_wrong_types_get_400_not_500(api: httpx2.AsyncClient) -> None:
    assert_problem(await api.post("/must-gather", json={"image": 5}), 400, "image")
    assert_problem(await api.post("/must-gather", json={"timeout": True}), 400, "timeout")


async def test_a_number_of_seconds_is_a_timeout(api: httpx2.AsyncClient) -> None:
    assert (await api.post("/must-gather", json={"timeout": 900})).json()["timeout"] == "900"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"a string"', "JSON object"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[" * 100_00 + b"]" * 100_00, ""),
    ],
)
async def test_malformed_bodies_get_400(api: httpx2.AsyncClient, content: bytes, says: str) -> None:
    response = await api.post(
        "/must-gather", content=content, headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, says)


async def test_bodies_over_64_kib_get_413(api: httpx2.AsyncClient) -> None:
    response = await api.post("/must-gather", json={"command": "x" * (65 * 1024)})
    assert_problem(response, 413, "64 KiB")


async def test_unsupported_content_type_is_named(api: httpx2.AsyncClient) -> None:
    response = await api.post(
        "/must-gather", content=b"<a/>", headers={"content-type": "application/xml"}
    )
    assert_problem(response, 400, "application/xml")


# -- GET one and list -------------------------------------------------------------------


async def test_list_is_ascending_and_empty_is_an_array(api: httpx2.AsyncClient) -> None:
    assert (await api.get("/must-gather")).json() == []
    for name in ("a", "b", "c"):
        await api.post("/must-gather", json={"custom-name": name, "image": "fake/ok"})
    listed = (await api.get("/must-gather")).json()
    assert [item["id"] for item in listed] == sorted(item["id"] for item in listed)
    assert [item["custom-name"] for item in listed] == ["a", "b", "c"]


async def test_list_filters_and_pages(api: httpx2.AsyncClient) -> None:
    for name in ("a", "b", "a"):
        await api.post("/must-gather", json={"custom-name": name, "image": "fake/ok"})
    for item in (await api.get("/must-gather")).json():
        await finished(api, item["id"])
    await api.post("/must-gather", json={"image": "fake/fail"})
    await finished(api, 4)
    assert len((await api.get("/must-gather", params={"custom-name": "a"})).json()) == 2
    failed = (await api.get("/must-gather", params={"status": "error"})).json()
    assert [item["id"] for item in failed] == [4]
    page = (await api.get("/must-gather", params={"limit": 2, "offset": 1})).json()
    assert [item["id"] for item in page] == [2, 3]
    newest: dict[str, str | int] = {"limit": 2, "offset": 1, "order": "desc"}
    assert [item["id"] for item in (await api.get("/must-gather", params=newest)).json()] == [3, 2]
    named = {"custom-name": "a", "order": "desc"}
    assert [item["id"] for item in (await api.get("/must-gather", params=named)).json()] == [3, 1]
    assert_problem(await api.get("/must-gather", params={"order": "newest"}), 400, "order")
    assert_problem(await api.get("/must-gather", params={"status": "done"}), 400, "status")
    assert_problem(await api.get("/must-gather", params={"limit": 0}), 400, "limit")


async def test_list_items_carry_only_the_tail_of_the_output(
    api: httpx2.AsyncClient, service: tuple[FastAPI, httpx2.AsyncClient]
) -> None:
    await api.post("/must-gather", json={"image": "fake/ok"})
    await finished(api, 1)
    log = service[0].state.services.layout.output_log(1)
    with log.open("a") as file:
        file.write("".join(f"line {n:06d}\n" for n in range(50_000)))
    listed = (await api.get("/must-gather")).json()
    assert 0 < len(listed[0]["exec-output"].encode()) <= 1024
    assert listed[0]["exec-output"].endswith("line 049999\n")
    one = (await api.get("/must-gather/1")).json()
    assert 1024 < len(one["exec-output"].encode()) <= 256 * 1024


async def test_get_by_id_then_newest_custom_name(api: httpx2.AsyncClient) -> None:
    first = (await api.post("/must-gather", json={"custom-name": "plan:my-plan:0b1c"})).json()
    second = (await api.post("/must-gather", json={"custom-name": "plan:my-plan:0b1c"})).json()
    assert (await api.get(f"/must-gather/{first['id']}")).json()["id"] == first["id"]
    by_name = (await api.get("/must-gather/plan:my-plan:0b1c")).json()
    assert by_name["id"] == second["id"]
    encoded = (await api.get("/must-gather/plan%3Amy-plan%3A0b1c")).json()
    assert encoded["id"] == second["id"]


async def test_a_numeric_custom_name_is_shadowed_by_the_id(api: httpx2.AsyncClient) -> None:
    await api.post("/must-gather", json={"custom-name": "x"})
    await api.post("/must-gather", json={"custom-name": "1"})
    assert (await api.get("/must-gather/1")).json()["custom-name"] == "x"
    assert (await api.get("/must-gather/1")).json()["id"] == 1


async def test_unknown_gathering_is_a_404_problem(api: httpx2.AsyncClient) -> None:
    assert_problem(await api.get("/must-gather/42"), 404, "42")
    assert_problem(await api.get("/must-gather/nope/data"), 404, "nope")
    assert_problem(await api.get("/must-gather/nope/logs"), 404, "nope")
    assert_problem(await api.delete("/must-gather/nope"), 404, "nope")


# -- data -------------------------------------------------------------------------------


async def test_archive_download_with_headers_range_and_name(api: httpx2.AsyncClient) -> None:
    await api.post("/must-gather", json={"image": "fake/ok", "custom-name": "plan:p1:uid"})
    body = await finished(api, 1)
    assert body["status"] == "completed"
    assert body["archive-name"] == "must-gather-plan_p1_uid.tar.gz"
    response = await api.get("/must-gather/1/data")
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == body["archive-size"] == len(response.content)
    assert response.headers["etag"] and response.headers["last-modified"]
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="must-gather-plan_p1_uid.tar.gz"')
    assert "filename*=UTF-8''must-gather-plan_p1_uid.tar.gz" in disposition
    with tarfile.open(fileobj=BytesIO(response.content)) as tar:
        assert "must-gather/version" in tar.getnames()
    partial = await api.get("/must-gather/1/data", headers={"range": "bytes=10-19"})
    assert partial.status_code == 206
    assert partial.content == response.content[10:20]
    by_name = await api.get("/must-gather/plan:p1:uid/data")
    assert by_name.content == response.content
    head = await api.head("/must-gather/1/data")
    assert head.status_code == 200 and head.content == b""


async def test_an_archive_the_image_packed_is_served_as_is(api: httpx2.AsyncClient) -> None:
    await api.post("/must-gather", json={"image": "fake/own-archive"})
    body = await finished(api, 1)
    assert body["archive-name"] == "must-gather.tar.gz"
    with tarfile.open(fileobj=BytesIO((await api.get("/must-gather/1/data")).content)) as tar:
        assert tar.getnames() == ["must-gather/plan.yaml"]


async def test_an_image_archive_with_unsafe_members_is_re_packed(api: httpx2.AsyncClient) -> None:
    await api.post("/must-gather", json={"image": "fake/unsafe-archive"})
    body = await finished(api, 1)
    assert body["status"] == "completed", body["error-reason"]
    assert "held 7 unsafe entries" in body["exec-output"]
    data = (await api.get("/must-gather/1/data")).content
    assert hashlib.sha256(data).hexdigest() == body["archive-sha256"]
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        members = tar.getmembers()
    assert "must-gather/ok.txt" in [m.name for m in members]
    for member in members:
        assert member.isreg() or member.isdir(), member.name
        assert not member.name.startswith("/") and ".." not in member.name.split("/")
        assert not member.mode & 0o6000, member.name


async def test_an_error_reason_names_no_file_and_no_exception_class(
    api: httpx2.AsyncClient,
) -> None:
    await api.post("/must-gather", json={"image": "fake/leaks-a-path"})
    body = await finished(api, 1)
    assert body["status"] == "error"
    reason = body["error-reason"]
    assert reason.startswith("the executor failed: No such file or directory"), reason
    assert "gatherings/1" not in reason and "Error" not in reason and "[Errno" not in reason


async def test_no_archive_while_running(api: httpx2.AsyncClient, executor: FakeExecutor) -> None:
    await api.post("/must-gather", json={"image": "fake/block"})
    await executor.wait_started(1)
    assert_problem(await api.get("/must-gather/1/data"), 404, "inprogress")
    executor.release(1)
    assert (await finished(api, 1))["status"] == "completed"


async def test_failed_gathering_keeps_what_it_gathered(api: httpx2.AsyncClient) -> None:
    await api.post("/must-gather", json={"image": "fake/fail"})
    body = await finished(api, 1)
    assert body["status"] == "error"
    assert body["error-reason"] == "gather exited with code 1"
    with tarfile.open(fileobj=BytesIO((await api.get("/must-gather/1/data")).content)) as tar:
        assert "must-gather/partial.txt" in tar.getnames()


async def test_nothing_gathered_means_error_and_no_archive(api: httpx2.AsyncClient) -> None:
    await api.post("/must-gather", json={"image": "fake/empty"})
    body = await finished(api, 1)
    assert (body["status"], body["error-reason"]) == ("error", "the gathering produced no data")
    assert body["archive-name"] == ""
    assert_problem(await api.get("/must-gather/1/data"), 404, "no data")


async def test_a_custom_name_cannot_inject_headers(api: httpx2.AsyncClient) -> None:
    name = 'evil"; filename="x.sh'
    await api.post("/must-gather", json={"image": "fake/ok", "custom-name": name})
    await finished(api, 1)
    disposition = (await api.get("/must-gather/1/data")).headers["content-disposition"]
    assert disposition.count('"') == 2
    assert 'filename="must-gather-evil_filename_x.sh.tar.gz"' in disposition


# -- DELETE and logs --------------------------------------------------------------------


async def test_delete_cancels_a_running_gathering(
    api: httpx2.AsyncClient, executor: FakeExecutor
) -> None:
    await api.post("/must-gather", json={"image": "fake/block"})
    await executor.wait_started(1)
    response = await api.delete("/must-gather/1")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["error-reason"]) == ("error", "cancelled")
    assert executor.cancelled == [1]


async def test_delete_removes_a_finished_gathering_and_its_files(
    api: httpx2.AsyncClient, service: tuple[FastAPI, httpx2.AsyncClient]
) -> None:
    await api.post("/must-gather", json={"image": "fake/ok"})
    await finished(api, 1)
    directory = service[0].state.services.layout.directory(1)
    assert directory.is_dir()
    assert (await api.delete("/must-gather/1")).status_code == 204
    assert not directory.exists()
    assert_problem(await api.get("/must-gather/1"), 404)


async def test_logs_return_the_whole_output(api: httpx2.AsyncClient) -> None:
    await api.post("/must-gather", json={"image": "fake/ok"})
    await finished(api, 1)
    response = await api.get("/must-gather/1/logs")
    assert response.headers["content-type"].startswith("text/plain")
    assert "[fake] gathering with fake/ok\n[fake] done\n" in response.text
    assert "archive ready" in response.text


# -- the service routes -----------------------------------------------------------------


async def test_the_duration_metric_says_the_kind_of_failure(api: httpx2.AsyncClient) -> None:
    await api.post("/must-gather", json={"image": "fake/fail"})
    await api.post("/must-gather", json={"image": "fake/ok"})
    assert (await finished(api, 1))["error-reason"] == "gather exited with code 1"
    await finished(api, 2)
    failed = 'duration_seconds_count{failure="pod-failed",status="error"} 1.0'
    completed = 'duration_seconds_count{failure="",status="completed"} 1.0'
    # The runner records the metric just after the record; a few polls cover the gap.
    for _ in range(50):
        metrics = (await api.get("/metrics")).text
        if failed in metrics and completed in metrics:
            break
    assert failed in metrics and completed in metrics, metrics


async def test_banner_health_readiness_metrics_and_docs(api: httpx2.AsyncClient) -> None:
    assert (await api.get("/")).text.startswith("must-gather-api")
    assert (await api.get("/healthz")).text == "ok\n"
    assert (await api.get("/readyz")).status_code == 200
    await api.post("/must-gather", json={"image": "fake/ok"})
    await finished(api, 1)
    await api.get("/must-gather/1/data")
    metrics = (await api.get("/metrics")).text
    assert 'must_gather_api_gatherings{status="completed"} 1.0' in metrics
    assert "must_gather_api_queue_depth 0.0" in metrics
    assert "must_gather_api_gathering_duration_seconds_count" in metrics
    assert "must_gather_api_archive_bytes_served_total" in metrics
    schema = (await api.get("/openapi.json")).json()
    assert {"/must-gather", "/must-gather/{reference}/data"} <= set(schema["paths"])
    assert (await api.get("/docs")).status_code == 200


async def test_unknown_routes_and_methods_are_problems(api: httpx2.AsyncClient) -> None:
    assert_problem(await api.get("/nowhere"), 404, "/nowhere")
    assert_problem(await api.put("/must-gather"), 405, "PUT")


async def test_no_response_reveals_a_filesystem_path(
    api: httpx2.AsyncClient, tmp_path: Path
) -> None:
    await api.post("/must-gather", json={"image": "fake/ok"})
    await finished(api, 1)
    for url in ("/must-gather", "/must-gather/1", "/must-gather/1/logs", "/metrics"):
        assert str(tmp_path) not in (await api.get(url)).text


# -- the parameters added since the old service ------------------------------------------


async def test_new_parameters_are_stored_shown_and_reach_the_executor(
    api: httpx2.AsyncClient, executor: FakeExecutor
) -> None:
    asked = {
        "image": "fake/ok",
        "images": ["quay.io/kubevirt/must-gather:v1"],
        "all-images": True,
        "node-selector": "node-role.kubernetes.io/worker=",
        "host-network": True,
        "run-namespace": "debug-ns",
        "since": "2h",
        "since-time": "2026-01-02T03:04:05Z",
        "volume-percentage": 50,
        "keep": True,
    }
    body = (await api.post("/must-gather", json=asked)).json()
    for key, value in asked.items():
        assert body[key] == value, key
    await finished(api, 1)
    job = executor.jobs[1]
    options = job.options
    assert options.image_names == ("fake/ok", "quay.io/kubevirt/must-gather:v1")
    assert options.newer_fields() == {
        "images": ["quay.io/kubevirt/must-gather:v1"],
        "all_images": True,
        "node_selector": "node-role.kubernetes.io/worker=",
        "host_network": True,
        "run_namespace": "debug-ns",
        "since": "2h",
        "since_time": "2026-01-02T03:04:05Z",
        "volume_percentage": 50,
        "keep": True,
    }
    assert options.node_selector is not None
    assert options.node_selector.value == (("node-role.kubernetes.io/worker", ""),)
    assert options.since is not None and options.since.value == timedelta(hours=2)
    assert options.since_time is not None
    assert options.since_time.value == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_new_parameters_default_to_off(api: httpx2.AsyncClient) -> None:
    body = (await api.post("/must-gather")).json()
    assert (body["images"], body["all-images"], body["keep"]) == ([], False, False)
    assert body["volume-percentage"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("node-selector", "=novalue"),
        ("run-namespace", "Not_A_Namespace"),
        ("since", "-5m"),
        ("since-time", "yesterday"),
        ("volume-percentage", 101),
        ("images", ["--flag"]),
        ("keep", "maybe"),
    ],
)
async def test_bad_new_parameters_are_rejected(
    api: httpx2.AsyncClient, field: str, value: object
) -> None:
    assert_problem(await api.post("/must-gather", json={field: value}), 400, f"{field}:")


async def test_form_booleans_and_image_lists(api: httpx2.AsyncClient) -> None:
    response = await api.post(
        "/must-gather",
        content=b"keep=true&images=quay.io/a/b,quay.io/c/d",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["keep"] is True
    assert response.json()["images"] == ["quay.io/a/b", "quay.io/c/d"]


async def test_the_documentation_pages_load_nothing_from_other_hosts(
    api: httpx2.AsyncClient,
) -> None:
    # Disconnected clusters are common: a CDN would leave /docs blank there.
    for page in ("/docs", "/redoc"):
        html = (await api.get(page)).text
        referenced = re.findall(r'(?:src|href|url)\s*[=:]\s*["\']([^"\']+)["\']', html)
        assert referenced, page
        assert not [url for url in referenced if "://" in url or url.startswith("//")], html
        for url in referenced:
            if url.endswith((".js", ".css")):
                assert (await api.get(url)).status_code == 200, url

"""``GatheringOptions`` end to end: the API builds it, the store keeps it, the executor gets it.

Whatever a caller may send comes back unchanged in the gathering object, survives the store,
and reaches the executor's ``Job`` as the same typed value.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from must_gather_api.api.schemas import GatheringRequest, GatheringView, render
from must_gather_api.durations import parse_duration
from must_gather_api.gatherings.jobs import job_for
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.store import GatheringStore
from must_gather_api.gatherings.tables import GatheringRow
from must_gather_api.parameters import GatheringOptions, InvalidOption
from must_gather_api.parameters.options import FIELD_NAMES
from must_gather_api.settings import RequestDefaults

PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DEFAULTS = RequestDefaults(image="quay.io/openshift/origin-must-gather:latest", timeout="10m")

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
IMAGE = st.builds(
    lambda registry, path, tag: f"{registry}/{path}:{tag}",
    st.sampled_from(["quay.io", "registry.example.com:5000", "localhost"]),
    st.lists(LABEL, min_size=1, max_size=3).map("/".join),
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}", fullmatch=True),
)
DURATION = st.builds(
    lambda hours, minutes: f"{hours}h{minutes}m" if hours else f"{minutes + 1}m",
    st.integers(0, 5),
    st.integers(0, 59),
)
MOMENT = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
SELECTOR = st.dictionaries(
    st.builds(
        lambda prefix, name: f"{prefix}/{name}" if prefix else name, LABEL | st.just(""), LABEL
    ),
    LABEL | st.just(""),
    min_size=1,
    max_size=3,
).map(lambda labels: ",".join(f"{key}={value}" for key, value in labels.items()))
COMMAND = st.builds(
    lambda env, argv: " ".join([*(f"{name}={value}" for name, value in env), *argv]),
    st.lists(st.tuples(st.sampled_from(["PLAN", "NS", "VM", "X_1"]), LABEL), max_size=3),
    st.lists(
        st.sampled_from(["/usr/bin/gather", "/usr/bin/targeted", "--flag", "'a b'"]),
        min_size=1,
        max_size=3,
    ),
)

# What a caller may send, by wire key; every key is optional.
WIRE_KEYS: dict[str, st.SearchStrategy[Any]] = {
    "custom-name": st.text(
        st.characters(
            blacklist_categories=["Cc", "Cs", "Zl", "Zp", "Co", "Cn"], blacklist_characters="/"
        ),
        min_size=1,
        max_size=40,
    ).filter(str.isprintable),
    "image": IMAGE,
    "image-stream": st.builds(lambda ns, name: f"{ns}/{name}", LABEL, LABEL),
    "node-name": LABEL,
    "command": COMMAND,
    "source-dir": st.lists(LABEL, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts)),
    "timeout": DURATION,
    "server": st.sampled_from(["https://api.example.com:6443", "https://10.0.0.1"]),
    "images": st.lists(IMAGE, max_size=3, unique=True),
    "all-images": st.booleans(),
    "node-selector": SELECTOR,
    "host-network": st.booleans(),
    "run-namespace": LABEL,
    "since": DURATION,
    "since-time": MOMENT,
    "volume-percentage": st.integers(1, 100),
    "keep": st.booleans(),
    "redact": st.booleans(),
    "keep-original": st.booleans(),
    "cores": st.sampled_from(["none", "metadata", "all"]),
}
WIRE = st.fixed_dictionaries({}, optional=WIRE_KEYS)


def through_the_api(wire: dict[str, Any]) -> GatheringOptions:
    return GatheringRequest.model_validate(wire).to_options(DEFAULTS)


async def through_the_store(options: GatheringOptions, tmp_path: Path) -> GatheringOptions:
    store = await GatheringStore.open("sqlite+aiosqlite:///:memory:")
    try:
        created = await store.create(options)
        loaded = await store.get(created.id)
        job = job_for(loaded, layout=Layout(tmp_path), credentials=None)
    finally:
        await store.close()
    assert job.timeout == (options.timeout.value if options.timeout else None)
    return job.options


@PROPERTY
@given(wire=WIRE)
def test_what_a_caller_sends_reaches_the_executor_and_is_shown_back(
    wire: dict[str, Any], tmp_path: Path
) -> None:
    options = through_the_api(wire)
    assert asyncio.run(through_the_store(options, tmp_path)) == options
    gathering_object = render_options(options)
    for key, value in wire.items():
        if key == "source-dir" or key == "server":
            continue  # shown normalised; checked below
        assert gathering_object[key] == value, key
    assert gathering_object["timeout"] == wire.get("timeout", DEFAULTS.timeout)
    assert gathering_object["image"] == wire.get(
        "image", "" if "image-stream" in wire else DEFAULTS.image
    )


@PROPERTY
@given(wire=WIRE)
def test_the_text_form_parses_back_to_the_same_options(wire: dict[str, Any]) -> None:
    options = through_the_api(wire)
    assert GatheringOptions.parse(options.to_fields()) == options
    assert (
        GatheringOptions.parse(GatheringOptions.parse(options.to_fields()).to_fields()) == options
    )


@PROPERTY
@given(wire=WIRE)
def test_typed_fields_mean_what_the_text_says(wire: dict[str, Any]) -> None:
    options = through_the_api(wire)
    if options.since is not None:
        assert options.since.value == parse_duration(wire["since"])
    if options.since_time is not None:
        assert options.since_time.value.strftime("%Y-%m-%dT%H:%M:%SZ") == wire["since-time"]
    if options.node_selector is not None:
        assert ",".join(f"{k}={v}" for k, v in options.node_selector.value) == wire["node-selector"]
    if options.command is not None:
        assert options.command.value.argv
    first = [options.image] if options.image else []
    assert options.image_names == tuple(dict.fromkeys([*first, *wire.get("images", [])]))


def render_options(options: GatheringOptions) -> dict[str, Any]:
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    gathering = Gathering(
        id=1, created_at=stamp, updated_at=stamp, status=Status.NEW, request=options
    )
    return render(gathering, exec_output="")


def test_the_gathering_object_keys_are_the_views_in_order() -> None:
    shown = render_options(GatheringOptions.of(timeout="10m"))
    view_keys = [field.alias or name for name, field in GatheringView.model_fields.items()]
    assert list(shown) == view_keys
    request_keys = {field.alias or name for name, field in GatheringRequest.model_fields.items()}
    assert request_keys <= set(view_keys)
    # One parameter, one field of each: GatheringOptions, the request and the view.
    assert set(GatheringRequest.model_fields) == set(FIELD_NAMES)
    assert set(FIELD_NAMES) <= set(GatheringView.model_fields)
    # ... and the round trips above draw every one of them.
    assert set(WIRE_KEYS) == request_keys


@pytest.mark.asyncio
async def test_rows_written_by_earlier_versions_still_load(tmp_path: Path) -> None:
    """Before GatheringOptions the JSON column held the newer parameters given, by name."""
    store = await GatheringStore.open(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    stamp = datetime(2025, 6, 1, tzinfo=UTC)
    row = {
        "created_at": stamp,
        "updated_at": stamp,
        "status": "completed",
        "custom_name": "plan:p1",
        "image": "quay.io/kubev2v/forklift-must-gather:latest",
        "image_stream": "",
        "node_name": "",
        "command": "PLAN=p1 /usr/bin/targeted",
        "source_dir": "",
        "timeout": "900",
        "server": "",
        "options": {
            "images": ["quay.io/kubevirt/must-gather:v1"],
            "since": "2h",
            "keep": True,
            "a_key_from_a_newer_version": 1,
        },
        "error_reason": "",
        "archive_size": 0,
        "archive_name": "",
        "archive_sha256": "",
        "archive_removed": "",
        "requested_by": "",
    }
    try:
        async with store._engine.begin() as connection:
            await connection.execute(insert(GatheringRow).values(**row))
        loaded = (await store.get(1)).request
    finally:
        await store.close()
    assert loaded.timeout is not None and loaded.timeout.value == timedelta(seconds=900)
    assert loaded.command is not None
    assert loaded.command.value.env == (("PLAN", "p1"),)
    assert loaded.image_names == (
        "quay.io/kubev2v/forklift-must-gather:latest",
        "quay.io/kubevirt/must-gather:v1",
    )
    assert loaded.since is not None and loaded.since.value == timedelta(hours=2)
    assert loaded.keep and not loaded.all_images
    assert loaded.source_directory == "/must-gather"


def test_an_invalid_value_names_its_field() -> None:
    with pytest.raises(InvalidOption) as caught:
        GatheringOptions.of(node_selector="=novalue")
    assert caught.value.field == "node_selector"
    with pytest.raises(InvalidOption, match=r"^keep: "):
        GatheringOptions.parse({"keep": "yes"})

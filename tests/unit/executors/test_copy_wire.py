"""The copy worker's wire format: the request over stdin, the events over stdout, and the
errors that cross back as the exception types and messages the copy raises."""

from __future__ import annotations

import pytest

from must_gather_api.executors.kubernetes import copy_wire
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed, CopyFailed, TooLarge
from must_gather_api.executors.kubernetes.exec_socket import Endpoint

TOKEN = "sha256~not-to-be-seen"


def request(**changes: object) -> copy_wire.CopyRequest:
    values: dict[str, object] = {
        "endpoint": Endpoint(
            host="https://api.example:6443",
            request_timeout=10.0,
            ca_file="/ca.crt",
            cert_file=None,
            key_file=None,
            verify=True,
            strict=False,
            server_name="api.internal",
            other_server=True,
            authorization=f"Bearer {TOKEN}",
        ),
        "remaining": 12.5,
        "namespace": "openshift-must-gather-abc",
        "pod": "must-gather-xyz",
        "container": "copy",
        "source_dir": "/must-gather/",
        "destination": "/data/scratch/copy-must-gather-xyz-0a1b.tar",
        "limit": 1 << 30,
        "max_entries": None,
        "max_attempts": 1000,
        "parent": 4242,
    }
    values.update(changes)
    return copy_wire.CopyRequest(**values)  # type: ignore[arg-type]


def test_a_request_crosses_whole() -> None:
    sent = request()
    assert copy_wire.CopyRequest.decode(sent.encode()) == sent
    assert copy_wire.CopyRequest.decode(request(limit=None).encode()).limit is None


def test_the_token_is_in_the_request_but_never_in_a_repr() -> None:
    sent = request()
    assert TOKEN.encode() in sent.encode()
    assert TOKEN not in repr(sent)
    assert TOKEN not in repr(sent.endpoint)


@pytest.mark.parametrize(
    "event",
    [
        copy_wire.Retried("copy the data of pod p", "the API server answered 503: busy", 0.4),
        copy_wire.Copied(3),
        copy_wire.Failed("cluster", "cannot copy the data of pod p: refused", 403),
        copy_wire.Failed("too-large", "the data of pod p is larger than MAX_ARCHIVE_BYTES"),
    ],
)
def test_each_event_is_one_line_and_parses_back(event: copy_wire.Event) -> None:
    line = copy_wire.line(event)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert copy_wire.parse(line) == event


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json\n", b"[1, 2]\n", b'{"copied": {}}\n', b'{"other": 1}\n', b'{"retry": 5}\n'],
)
def test_anything_else_on_stdout_is_no_event(raw: bytes) -> None:
    assert copy_wire.parse(raw) is None


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (TooLarge("the data of pod p has more entries than MAX_ARCHIVE_ENTRIES (10)"), TooLarge),
        (CopyFailed("the copy of pod p was cut 4 times; giving up"), CopyFailed),
        (
            ClusterCallFailed("cannot copy the data of pod p: forbidden", status=403),
            ClusterCallFailed,
        ),
    ],
)
def test_an_error_crosses_back_as_the_same_type_and_message(
    error: CopyFailed | TooLarge | ClusterCallFailed, kind: type[Exception]
) -> None:
    crossed = copy_wire.error_of(copy_wire.parse(copy_wire.line(copy_wire.failed(error))))  # type: ignore[arg-type]
    assert type(crossed) is kind
    assert crossed.reason == error.reason
    assert crossed.kind == error.kind
    if isinstance(error, ClusterCallFailed):
        assert isinstance(crossed, ClusterCallFailed) and crossed.status == error.status


def test_an_unknown_kind_is_a_failed_copy() -> None:
    crossed = copy_wire.error_of(copy_wire.Failed("from-a-newer-worker", "it failed"))
    assert type(crossed) is CopyFailed and crossed.reason == "it failed"


def test_the_exec_url_is_the_one_the_kubernetes_client_builds() -> None:
    endpoint = request().endpoint
    url = endpoint.exec_url(
        "ns", "pod-1", container="copy", command=["sh", "-c", "tar -c . | tail -c +513"]
    )
    assert url == (
        "wss://api.example:6443/api/v1/namespaces/ns/pods/pod-1/exec?command=sh&command=-c"
        "&command=tar+-c+.+%7C+tail+-c+%2B513&container=copy&stderr=true&stdin=false"
        "&stdout=true&tty=false"
    )
    plain = Endpoint(host="http://127.0.0.1:8001/prefix/", request_timeout=1.0)
    assert plain.exec_url("n", "p", container="c", command=["true"]).startswith(
        "ws://127.0.0.1:8001/prefix/api/v1/namespaces/n/pods/p/exec?command=true&"
    )

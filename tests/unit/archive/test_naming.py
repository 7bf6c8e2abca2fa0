"""The name an archive is offered under, and the header that carries it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from must_gather_api.api.downloads import ArchiveResponse, archive_response, content_disposition
from must_gather_api.archive.naming import archive_name, safe_file_part

_HEADER = re.compile(
    r"attachment; filename=\"(?P<ascii>[^\"\\]*)\"; filename\*=UTF-8''(?P<ext>\S*)"
)


@pytest.mark.parametrize(
    ("filename", "custom_name", "expected"),
    [
        ("must-gather.tar.gz", "", "must-gather.tar.gz"),
        ("must-gather.tar.gz", "forklift-plan1", "must-gather-forklift-plan1.tar.gz"),
        ("must-gather.tar.gz", "plan:my-plan:uid", "must-gather-plan_my-plan_uid.tar.gz"),
        ("must-gather.tar.gz", "vm:my vm:1234", "must-gather-vm_my_vm_1234.tar.gz"),
        ("must-gather.tar.gz", "plán-名前", "must-gather-plán-名前.tar.gz"),
        ("must-gather.tar.gz", ".hidden", "must-gather-hidden.tar.gz"),
        ("must-gather.tar.gz", "...", "must-gather-_.tar.gz"),
        ("must-gather.tar.gz", "a\"b'c\\d", "must-gather-a_b_c_d.tar.gz"),
        ("must-gather.tar.gz", "a\r\nb", "must-gather-a_b.tar.gz"),
        ("archive", "plan:p1", "archive-plan_p1"),
        ("archive", "", "archive"),
        ("data.zip", "x", "data-x.zip"),
    ],
)
def test_archive_name(filename: str, custom_name: str, expected: str) -> None:
    assert archive_name(filename, custom_name) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("a:b::c", "a_b_c"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("", "_"),
        ("\x00", "_"),
        ("名前", "名前"),
    ],
)
def test_safe_file_part(text: str, expected: str) -> None:
    assert safe_file_part(text) == expected


@settings(max_examples=300, database=None, deadline=None)
@given(custom_name=st.text(min_size=1))
def test_archive_name_is_always_a_plain_file_name(custom_name: str) -> None:
    name = archive_name("must-gather.tar.gz", custom_name)
    assert name.startswith("must-gather-") and name.endswith(".tar.gz")
    assert "/" not in name and "\\" not in name
    assert name.isprintable()
    assert not any(char.isspace() for char in name)


def parse(header: str) -> tuple[str, str]:
    match = _HEADER.fullmatch(header)
    assert match is not None, header
    return match["ascii"], unquote(match["ext"], errors="strict")


def test_content_disposition_of_a_plain_name() -> None:
    header = content_disposition("must-gather.tar.gz")
    assert header == (
        "attachment; filename=\"must-gather.tar.gz\"; filename*=UTF-8''must-gather.tar.gz"
    )


def test_content_disposition_of_a_unicode_name() -> None:
    ascii_name, exact = parse(content_disposition("must-gather-plán-名前.tar.gz"))
    assert exact == "must-gather-plán-名前.tar.gz"
    assert ascii_name.isascii()
    assert ascii_name.startswith("must-gather-pl") and ascii_name.endswith(".tar.gz")


@pytest.mark.parametrize(
    "name", ['a"; filename="evil.sh', "a\r\nSet-Cookie: x=1", 'a\\"b', '"', "\n", "%41"]
)
def test_content_disposition_cannot_inject(name: str) -> None:
    header = content_disposition(name)
    assert "\r" not in header and "\n" not in header
    ascii_name, exact = parse(header)
    assert exact == name
    assert '"' not in ascii_name


@settings(max_examples=500, database=None, deadline=None)
@given(name=st.text())
def test_content_disposition_is_safe_for_any_name(name: str) -> None:
    header = content_disposition(name)
    assert header.isascii() and header.isprintable()
    assert "\r" not in header and "\n" not in header
    ascii_name, exact = parse(header)
    assert '"' not in ascii_name and "\\" not in ascii_name
    assert exact == name


def test_an_offloaded_archive_is_named_by_its_place_under_the_data_dir() -> None:
    data_dir = Path("/var/lib/mga")
    response = archive_response(
        data_dir / "gatherings" / "7" / "archive",
        name="must-gather plán.tar.gz",
        data_dir=data_dir,
        accel_prefix="/_data/",
    )
    assert response.headers["x-accel-redirect"] == "/_data/gatherings/7/archive"
    assert response.body == b""
    assert response.media_type == "application/gzip"
    assert response.headers["content-disposition"] == content_disposition("must-gather plán.tar.gz")


def test_nothing_outside_the_data_dir_is_offloaded() -> None:
    response = archive_response(
        Path("/elsewhere/archive"),
        name="a.tar.gz",
        data_dir=Path("/var/lib/mga"),
        accel_prefix="/_data/",
    )
    assert "x-accel-redirect" not in response.headers
    assert isinstance(response, ArchiveResponse)

"""The image catalogue: reference parsing and resolution by name, tag and digest."""

from __future__ import annotations

import os
import re

import pytest

from kubesim.images import ImageCatalogue, InvalidReference, parse_reference
from kubesim.images import builtin as b

CATALOGUE = ImageCatalogue.default()


@pytest.mark.parametrize(
    ("text", "name", "tag", "digest"),
    [
        ("busybox", "docker.io/library/busybox", None, None),
        ("busybox:1.36", "docker.io/library/busybox", "1.36", None),
        ("library/busybox", "docker.io/library/busybox", None, None),
        (
            "quay.io/kubev2v/forklift-must-gather:2.8",
            "quay.io/kubev2v/forklift-must-gather",
            "2.8",
            None,
        ),
        ("localhost:5000/a/b:c", "localhost:5000/a/b", "c", None),
        ("quay.io/x/y@sha256:" + "a" * 64, "quay.io/x/y", None, "sha256:" + "a" * 64),
    ],
)
def test_references_are_parsed_with_dockers_defaults(
    text: str, name: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text)
    assert (ref.name, ref.tag, ref.digest) == (name, tag, digest)


@pytest.mark.parametrize("text", ["", " busybox", "UPPER/case", "x@sha256:short", "a:b:c:"])
def test_malformed_references_are_rejected(text: str) -> None:
    with pytest.raises(InvalidReference):
        parse_reference(text)
    assert CATALOGUE.resolve(text) is None


def test_the_openshift_image_resolves_by_name_tag_and_digest() -> None:
    by_name = CATALOGUE.resolve(b.ORIGIN_MUST_GATHER)
    assert by_name is not None
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", by_name.digest)
    assert by_name.entrypoint == ["/usr/bin/gather"]
    assert by_name.pullable
    latest = CATALOGUE.resolve(f"{b.ORIGIN_MUST_GATHER}:latest")
    pinned = CATALOGUE.resolve(f"{b.ORIGIN_MUST_GATHER}@{by_name.digest}")
    ose = CATALOGUE.resolve(f"{b.OSE_MUST_GATHER}:latest")
    assert latest is not None and pinned is not None and ose is not None
    assert latest.digest == pinned.digest == ose.digest == by_name.digest
    assert pinned.reference == f"{b.ORIGIN_MUST_GATHER}@{by_name.digest}"
    assert ose.root == by_name.root
    assert by_name.image_id == f"{b.ORIGIN_MUST_GATHER}@{by_name.digest}"


def test_digests_are_stable_and_distinct_per_image() -> None:
    again = ImageCatalogue.default()
    digests = {entry.names[0]: entry.digest for entry in CATALOGUE}
    assert digests == {entry.names[0]: entry.digest for entry in again}
    assert len(set(digests.values())) == len(digests)


def test_unknown_names_tags_and_digests_resolve_to_nothing() -> None:
    assert CATALOGUE.resolve("quay.io/nobody/nothing:latest") is None
    assert CATALOGUE.resolve(f"{b.ORIGIN_MUST_GATHER}:3.11") is None
    assert CATALOGUE.resolve(f"{b.ORIGIN_MUST_GATHER}@sha256:{'0' * 64}") is None
    assert CATALOGUE.resolve("busybox:no-such-tag") is None


def test_the_forklift_image_takes_any_tag() -> None:
    for tag in ("latest", "release-v2.8", "2.8.0"):
        image = CATALOGUE.resolve(f"{b.FORKLIFT_MUST_GATHER}:{tag}")
        assert image is not None
        assert (image.root / "usr/bin/targeted").is_file()


def test_busybox_short_names_and_the_unpullable_image() -> None:
    busybox = CATALOGUE.resolve("busybox")
    assert busybox is not None and busybox.entrypoint == ["sh"]
    unpullable = CATALOGUE.resolve(b.UNPULLABLE)
    assert unpullable is not None and not unpullable.pullable


def test_every_image_root_is_present_and_its_scripts_are_executable() -> None:
    for entry in CATALOGUE:
        image = CATALOGUE.resolve(entry.names[0])
        assert image is not None and image.root.is_dir(), entry.names
        for script in (image.root / "usr" / "bin").glob("*"):
            assert os.access(script, os.X_OK), script
        if (image.root / "usr" / "bin").is_dir():
            shared = image.root / "usr" / "lib" / "kubesim-gather" / "kubesim_gather"
            assert (shared / "api.py").is_file(), entry.names


def test_catalogue_names_must_be_canonical() -> None:
    from kubesim.images.catalogue import CatalogueEntry

    with pytest.raises(ValueError, match="must be spelt"):
        ImageCatalogue([CatalogueEntry(names=("busybox",), root="busybox", entrypoint=("sh",))])

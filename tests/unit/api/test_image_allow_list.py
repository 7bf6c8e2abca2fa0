"""ALLOWED_IMAGES: by repository, by tag, by digest; names compared as written."""

from __future__ import annotations

import pytest

from must_gather_api.api.privileges import image_allowed

DEFAULT = "quay.io/kubev2v/forklift-must-gather"
DIGEST = "sha256:" + "a" * 64
OTHER_DIGEST = "sha256:" + "b" * 64
ALLOWED = ("quay.io/org/any", "quay.io/org/tagged:v1", f"quay.io/org/pinned@{DIGEST}")


@pytest.mark.parametrize(
    "image",
    [
        DEFAULT,
        "quay.io/org/any",
        "quay.io/org/any:v9",
        f"quay.io/org/any@{OTHER_DIGEST}",
        "quay.io/org/tagged:v1",
        f"quay.io/org/pinned@{DIGEST}",
        f"quay.io/org/pinned:latest@{DIGEST}",
    ],
)
def test_allowed(image: str) -> None:
    assert image_allowed(image, default=DEFAULT, allowed=ALLOWED)


@pytest.mark.parametrize(
    "image",
    [
        f"{DEFAULT}:other",
        "quay.io/org/anything",
        "org/any",
        "quay.io/org/tagged:v2",
        "quay.io/org/tagged",
        f"quay.io/org/tagged:v1@{OTHER_DIGEST}",
        "quay.io/org/pinned",
        f"quay.io/org/pinned@{OTHER_DIGEST}",
        "quay.io/org/any/sub",
    ],
)
def test_refused(image: str) -> None:
    assert not image_allowed(image, default=DEFAULT, allowed=ALLOWED)

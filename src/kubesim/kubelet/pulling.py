"""Image "pulls" from the catalogue, with the messages containerd and the kubelet give."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kubesim.images import Image, InvalidReference, parse_reference

ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACKOFF = "ImagePullBackOff"
INVALID_IMAGE_NAME = "InvalidImageName"


class Catalogue(Protocol):
    def resolve(self, image: str) -> Image | None: ...


@dataclass(frozen=True)
class PullResult:
    """A pulled image, or the waiting reason and message a failed pull leaves."""

    image: Image | None
    reason: str = ""
    message: str = ""


def full_reference(image: str) -> str:
    """``busybox`` -> ``docker.io/library/busybox:latest``, as containerd names it."""
    ref = parse_reference(image)
    if ref.digest:
        return f"{ref.name}@{ref.digest}"
    return f"{ref.name}:{ref.tag or 'latest'}"


def pull(catalogue: Catalogue, image: str) -> PullResult:
    try:
        full = full_reference(image)
    except InvalidReference:
        return PullResult(
            None,
            INVALID_IMAGE_NAME,
            f'Failed to apply default image tag "{image}": couldn\'t parse image name '
            f'"{image}": invalid reference format',
        )
    found = catalogue.resolve(image)
    if found is None:
        return PullResult(
            None,
            ERR_IMAGE_PULL,
            f'rpc error: code = NotFound desc = failed to pull and unpack image "{full}": '
            f'failed to resolve reference "{full}": {full}: not found',
        )
    if not found.pullable:
        ref = parse_reference(image)
        manifest = ref.digest or ref.tag or "latest"
        return PullResult(
            None,
            ERR_IMAGE_PULL,
            f'rpc error: code = Unknown desc = failed to pull and unpack image "{full}": '
            f'failed to resolve reference "{full}": unexpected status from HEAD request to '
            f"https://{ref.registry}/v2/{ref.repository}/manifests/{manifest}: 401 Unauthorized",
        )
    return PullResult(found)


def backoff_message(image: str, failure: PullResult) -> str:
    return f'Back-off pulling image "{image}": {failure.reason}: {failure.message}'


def pull_policy(container_image: str, policy: str | None) -> str:
    """The defaulted imagePullPolicy: Always for ``:latest`` or no tag, else IfNotPresent."""
    if policy:
        return policy
    try:
        ref = parse_reference(container_image)
    except InvalidReference:
        return "IfNotPresent"
    if ref.digest is None and (ref.tag is None or ref.tag == "latest"):
        return "Always"
    return "IfNotPresent"

"""Which images a gathering runs: the request's, image streams, the cluster's default, and
with ``all-images`` every must-gather image operators announce.

Image streams resolve as oc resolves them (library-go ``ResolveRecentPullSpecForTag``): the
newest item of the status tag, through the internal registry when the spec tag's reference
policy is ``Local``.
"""

from __future__ import annotations

from typing import Any

from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed, GatherError
from must_gather_api.parameters import ImageStreamRef

DEFAULT_STREAM = ImageStreamRef(namespace="openshift", name="must-gather", tag="latest")
ANNOTATION = "operators.openshift.io/must-gather-image"


def pull_spec(stream: dict[str, Any], tag: str) -> str:
    """The pull spec of ``tag`` in an ImageStream object, or GatherError saying why not."""
    status = stream.get("status") or {}
    spec_tag = next(
        (t for t in (stream.get("spec") or {}).get("tags") or [] if t.get("name") == tag), None
    )
    status_tag = next((t for t in status.get("tags") or [] if t.get("tag") == tag), None)
    items = (status_tag or {}).get("items") or []
    repository = str(status.get("dockerImageRepository") or "")
    if items:
        newest = items[0]
        local = ((spec_tag or {}).get("referencePolicy") or {}).get("type") == "Local"
        if local and repository and newest.get("image"):
            name = repository.rsplit("@", 1)[0]
            if name.rfind(":") > name.rfind("/"):
                name = name[: name.rfind(":")]
            return f"{name}@{newest['image']}"
        if newest.get("dockerImageReference"):
            return str(newest["dockerImageReference"])
    source = (spec_tag or {}).get("from") or {}
    policy = ((spec_tag or {}).get("referencePolicy") or {}).get("type", "Source")
    if source.get("kind") == "DockerImage" and policy == "Source" and source.get("name"):
        return str(source["name"])
    if repository:
        return f"{repository}:{tag}"
    raise GatherError(f"tag {tag!r} has no image and the stream has no repository")


async def resolve_stream(calls: ClusterCalls, ref: ImageStreamRef) -> str:
    path = f"/apis/image.openshift.io/v1/namespaces/{ref.namespace}/imagestreams/{ref.name}"
    try:
        stream = await calls.get(path, what=f"read the image stream {ref.namespace}/{ref.name}")
        return pull_spec(stream, ref.tag)
    except GatherError as e:
        raise GatherError(f"unable to resolve image stream '{ref}': {e.reason}", kind=e.kind) from e


async def _annotated_images(calls: ClusterCalls) -> list[str]:
    found: list[str] = []
    for path, what in (
        (
            "/apis/operators.coreos.com/v1alpha1/clusterserviceversions",
            "list ClusterServiceVersions",
        ),
        ("/apis/config.openshift.io/v1/clusteroperators", "list ClusterOperators"),
    ):
        listed = await calls.get(path, what=what)
        for item in listed.get("items") or []:
            value = ((item.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
            if value and value not in found:
                found.append(str(value))
    return found


async def resolve_images(
    calls: ClusterCalls,
    *,
    images: tuple[str, ...],
    stream: ImageStreamRef | None,
    all_images: bool,
    fallback: str,
    console: Console,
) -> list[str]:
    """The images to run, in order, without duplicates; GatherError when one cannot be had."""
    chosen = list(images)
    if stream is not None:
        chosen.append(await resolve_stream(calls, stream))
    if not chosen or all_images:
        try:
            default = await resolve_stream(calls, DEFAULT_STREAM)
        except GatherError as e:
            console.out(f"{e.reason}; using {fallback}")
            default = fallback
        chosen.insert(0, default)
    if all_images:
        try:
            chosen += await _annotated_images(calls)
        except ClusterCallFailed as e:
            raise GatherError(f"all-images: {e.reason}", kind=e.kind) from e
    unique = list(dict.fromkeys(chosen))
    console.out(f"Using must-gather plug-in image: {', '.join(unique)}")
    return unique

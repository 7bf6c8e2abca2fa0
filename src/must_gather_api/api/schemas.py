"""The JSON shapes of the API: what a caller may send, and the gathering object.

The object keeps the old service's 15 keys, names and types; keys added since come
after them. Request keys are the old service's eight writable ones and the parameters
added since (``GatheringOptions``): anything else (``id``, ``status``, ``exec-output``,
unknown keys) is refused, never ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from must_gather_api.gatherings.records import Gathering
from must_gather_api.parameters import GatheringOptions
from must_gather_api.parameters.options import FIELD_NAMES, check
from must_gather_api.settings import RequestDefaults

# The timeout's maximum is a setting: the route checks it (parameters.timeout).
PARAMETERS = tuple(name for name in FIELD_NAMES if name != "timeout")


class GatheringRequest(BaseModel):
    """Body of `POST /must-gather`. Every key is optional; an empty string means "not given"."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, str_strip_whitespace=False)

    custom_name: str = Field(
        "",
        alias="custom-name",
        description="A name to find the gathering by instead of its id (not unique; newest wins).",
        examples=["plan:my-plan:0b1c"],
    )
    image: str = Field("", description="must-gather image; default MUST_GATHER_IMAGE.")
    image_stream: str = Field(
        "", alias="image-stream", description="Image stream `namespace/name[:tag]` to run instead."
    )
    node_name: str = Field("", alias="node-name", description="Node to run the gathering pod on.")
    command: str = Field(
        "",
        description="Runs instead of /usr/bin/gather; leading NAME=value words are environment.",
        examples=["PLAN=plan1 /usr/bin/targeted"],
    )
    source_dir: str = Field(
        "", alias="source-dir", description="Directory in the pod to copy from (/must-gather)."
    )
    timeout: str = Field(
        "", description="Go duration (15m, 1h30m) or seconds; default TIMEOUT.", examples=["15m"]
    )
    server: str = Field("", description="Kubernetes API server to use (https URL or host:port).")
    images: list[str] = Field(
        default_factory=list, description="More must-gather images, each run in its own pod."
    )
    all_images: bool = Field(
        False,
        alias="all-images",
        description="Also run every image named by an operators.openshift.io/must-gather-image "
        "annotation of ClusterServiceVersions and ClusterOperators.",
    )
    node_selector: str = Field(
        "", alias="node-selector", description="`key=value[,...]`: one pod on each matching node."
    )
    host_network: bool = Field(False, alias="host-network", description="Run with hostNetwork.")
    run_namespace: str = Field(
        "",
        alias="run-namespace",
        description="Existing namespace to run in; no temporary namespace or binding is made.",
    )
    since: str = Field("", description="Only logs newer than this (Go duration), if the image can.")
    since_time: str = Field(
        "", alias="since-time", description="Only logs after this RFC 3339 time, if the image can."
    )
    volume_percentage: int | None = Field(
        None,
        alias="volume-percentage",
        description="Stop gathering when the volume is fuller than this percentage (default 70).",
    )
    keep: bool = Field(False, description="Keep the temporary namespace afterwards (debugging).")
    redact: bool = Field(
        False,
        description="Serve an archive safe to share: addresses, MACs and the cluster's domain "
        "obfuscated, Secrets and ConfigMaps left out (REDACTION_CONFIG). Refused when "
        "REDACTION=off; always on when REDACTION=always.",
    )
    keep_original: bool = Field(
        False,
        alias="keep-original",
        description="With redact, also keep the un-redacted archive (admin permission only; "
        "never with REDACTION=always).",
    )
    cores: str = Field(
        "",
        description="The nodes' core dumps in the archive under cores/<node>/: `none` (default), "
        "`metadata` (one JSON per core) or `all` (the cores too, within MAX_ARCHIVE_BYTES). "
        "Needs the CORES_* permission as well.",
        examples=["metadata"],
    )

    @field_validator("all_images", "host_network", "keep", "redact", "keep_original", mode="before")
    @classmethod
    def _form_booleans(cls, value: Any) -> Any:
        # The form encoding has only strings.
        if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", ""}:
            return value.lower() in {"true", "1"}
        return value

    @field_validator("images", mode="before")
    @classmethod
    def _image_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("timeout", mode="before")
    @classmethod
    def _number_is_seconds(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return format(value, "g")
        return value

    @field_validator(*PARAMETERS)
    @classmethod
    def _valid(cls, value: Any, info: ValidationInfo) -> Any:
        # One set of rules for every parameter: GatheringOptions's, in parameters/.
        return check(str(info.field_name), value)

    def to_options(self, defaults: RequestDefaults) -> GatheringOptions:
        """The gathering's options, with the server's defaults filled in where the caller
        gave none. With only an image-stream, no default image is added (the old service
        then ran two images and failed)."""
        fields = self.model_dump()
        fields["image"] = self.image or ("" if self.image_stream else defaults.image)
        fields["timeout"] = self.timeout or defaults.timeout
        fields["redact"] = self.redact or defaults.redact
        return GatheringOptions.parse(fields)


class GatheringView(BaseModel):
    """The gathering object: ``render`` fills it in, and it alone decides the keys sent."""

    model_config = ConfigDict(populate_by_name=True)

    id: int
    created_at: str = Field(alias="created-at", description="RFC 3339, UTC.")
    updated_at: str = Field(alias="updated-at")
    custom_name: str = Field(alias="custom-name")
    status: str = Field(description="new (queued), inprogress, completed or error")
    image: str
    image_stream: str = Field(alias="image-stream")
    node_name: str = Field(alias="node-name")
    command: str
    source_dir: str = Field(alias="source-dir")
    timeout: str
    server: str
    archive_size: int = Field(alias="archive-size", description="Bytes.")
    archive_name: str = Field(alias="archive-name", description="File name offered for download.")
    exec_output: str = Field(
        alias="exec-output",
        description=(
            "The tail of the gathering's output: the last 256 KiB for one gathering, the last "
            "1 KiB in the list. The whole output is at /must-gather/{id}/logs."
        ),
    )
    error_reason: str = Field(alias="error-reason", description="Why it ended in error.")
    started_at: str = Field(alias="started-at", description="When it began running, or empty.")
    finished_at: str = Field(alias="finished-at", description="When it ended, or empty.")
    archive_sha256: str = Field(alias="archive-sha256")
    archive_removed: str = Field(alias="archive-removed", description="Why the archive is gone.")
    requested_by: str = Field(alias="requested-by", description="The user who asked for it.")
    images: list[str] = Field(default_factory=list)
    all_images: bool = Field(False, alias="all-images")
    node_selector: str = Field("", alias="node-selector")
    host_network: bool = Field(False, alias="host-network")
    run_namespace: str = Field("", alias="run-namespace")
    since: str = ""
    since_time: str = Field("", alias="since-time")
    volume_percentage: int | None = Field(None, alias="volume-percentage")
    keep: bool = False
    redact: bool = Field(False, description="The served archive is redacted.")
    keep_original: bool = Field(False, alias="keep-original")
    cores: str = Field("none", description="none, metadata or all: core dumps in the archive.")


def timestamp(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def render(gathering: Gathering, *, exec_output: str) -> dict[str, Any]:
    """The gathering object as the API sends it: ``GatheringView``, by its aliases."""
    view = GatheringView(
        id=gathering.id,
        created_at=timestamp(gathering.created_at),
        updated_at=timestamp(gathering.updated_at),
        status=gathering.status.value,
        archive_size=gathering.archive_size,
        archive_name=gathering.archive_name,
        exec_output=exec_output,
        error_reason=gathering.error_reason,
        started_at=timestamp(gathering.started_at),
        finished_at=timestamp(gathering.finished_at),
        archive_sha256=gathering.archive_sha256,
        archive_removed=gathering.archive_removed,
        requested_by=gathering.requested_by,
        **gathering.request.to_fields(),
    )
    return view.model_dump(by_alias=True)

"""``GatheringOptions``: every parameter of one gathering, validated, as one frozen value.

The API builds it once from the request (:meth:`GatheringOptions.parse`), the store keeps
its text form (:meth:`GatheringOptions.to_fields`) and reads it back with ``parse`` again,
and the executor reads its typed fields. A parameter that needs parsing (a duration, a
command, a node selector) is a :class:`Parsed` value: the text as the caller wrote it, which
is what the API shows back and the store keeps, beside what that text means.

Adding a parameter: a field here, its entry in ``_PARSERS`` (or the list and flag fields),
the request key in ``api/schemas.py`` and the response key in ``GatheringView``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from must_gather_api.durations import parse_duration
from must_gather_api.parameters.commands import Command, parse_command
from must_gather_api.parameters.images import ImageStreamRef, image, image_stream
from must_gather_api.parameters.servers import server
from must_gather_api.parameters.validators import (
    cores_mode,
    custom_name,
    namespace,
    node_name,
    node_selector,
    since,
    since_time,
    source_dir,
    volume_percentage,
)

__all__ = [
    "DEFAULT_SOURCE_DIR",
    "FIELD_NAMES",
    "IMAGES_MAX",
    "NEWER_FIELDS",
    "GatheringOptions",
    "InvalidOption",
    "Parsed",
    "check",
]

T = TypeVar("T")

DEFAULT_SOURCE_DIR = "/must-gather"
IMAGES_MAX = 16

NEWER_FIELDS = (
    "images",
    "all_images",
    "node_selector",
    "host_network",
    "run_namespace",
    "since",
    "since_time",
    "volume_percentage",
    "keep",
    "redact",
    "keep_original",
    "cores",
)
"""The parameters added since the old service, in the order the API shows them."""


class InvalidOption(ValueError):
    """A parameter's value is not valid; ``field`` names it, ``message`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Parsed(Generic[T]):
    """A parameter as the caller wrote it (``text``: shown back, stored) and what it means."""

    text: str
    value: T

    def __str__(self) -> str:
        return self.text


def _timeout(text: str) -> timedelta:
    # The maximum (MAX_TIMEOUT) is a setting, checked by the API when the request arrives;
    # a stored gathering keeps the timeout it was accepted with.
    return parse_duration(text + "s" if text.replace(".", "", 1).isdecimal() else text)


def _labels(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(node_selector(text).items())


# Text parameters: the validator returns the normalised text, kept as it is.
_TEXTS: dict[str, Callable[[str], str]] = {
    "custom_name": custom_name,
    "image": image,
    "node_name": node_name,
    "source_dir": source_dir,
    "server": server,
    "run_namespace": namespace,
    "cores": cores_mode,
}
# Parsed parameters: the text is kept as given, beside its meaning.
_PARSERS: dict[str, Callable[[str], Any]] = {
    "image_stream": image_stream,
    "command": parse_command,
    "timeout": _timeout,
    "node_selector": _labels,
    "since": since,
    "since_time": since_time,
}
_FLAGS = ("all_images", "host_network", "keep", "redact", "keep_original")


def check(name: str, value: Any) -> Any:
    """``value`` of the parameter ``name`` validated (and normalised where the API stores
    a normal form), or ValueError saying why not; "" (not given) passes as it is."""
    if name in _TEXTS:
        return _TEXTS[name](value) if value else value
    if name in _PARSERS:
        if value:
            _PARSERS[name](value)
        return value
    if name == "images":
        if len(value) > IMAGES_MAX:
            raise ValueError(f"at most {IMAGES_MAX} images")
        return [image(one) for one in value]
    if name == "volume_percentage":
        return None if value is None else volume_percentage(value)
    if name in _FLAGS:
        return bool(value)
    raise ValueError(f"{name} is not a parameter")


@dataclass(frozen=True, kw_only=True)
class GatheringOptions:
    """What a caller asked one gathering to do, with the server's defaults filled in.

    Empty text, ``None``, ``()`` and ``False`` mean "not given".
    """

    custom_name: str = ""
    image: str = ""
    image_stream: Parsed[ImageStreamRef] | None = None
    node_name: str = ""
    command: Parsed[Command] | None = None
    source_dir: str = ""
    timeout: Parsed[timedelta] | None = None
    server: str = ""
    images: tuple[str, ...] = ()
    all_images: bool = False
    node_selector: Parsed[tuple[tuple[str, str], ...]] | None = None
    host_network: bool = False
    run_namespace: str = ""
    since: Parsed[timedelta] | None = None
    since_time: Parsed[datetime] | None = None
    volume_percentage: int | None = None
    keep: bool = False
    # The served archive is redacted (REDACTION, REDACTION_CONFIG); with keep_original the
    # un-redacted one is kept too, for the admin permission only.
    redact: bool = False
    keep_original: bool = False
    # The nodes' core dumps in the archive (cores/<node>/): "metadata" their JSON, "all" the
    # files too within MAX_ARCHIVE_BYTES. Process memory: the caller needs CORES_* as well.
    cores: str = "none"

    @classmethod
    def parse(cls, fields: Mapping[str, Any]) -> GatheringOptions:
        """From the text form (``to_fields``, a stored row, a validated request).

        Keys are the field names; a missing key, "" or ``None`` means not given. Unknown keys
        are ignored, so a row written by a newer version still loads. Raises
        :class:`InvalidOption` naming the first invalid field.
        """
        given: dict[str, Any] = {}
        for name in FIELD_NAMES:
            value = fields.get(name)
            if value is None or value == "":
                continue
            try:
                given[name] = _read(name, value)
            except ValueError as e:
                raise InvalidOption(name, str(e)) from e
        return cls(**given)

    @classmethod
    def of(cls, **fields: Any) -> GatheringOptions:
        """``parse`` with keyword arguments: ``GatheringOptions.of(since="2h", keep=True)``."""
        return cls.parse(fields)

    def to_fields(self) -> dict[str, Any]:
        """Every field in its text form, in the order the API shows them (before the newer)."""
        shown: dict[str, Any] = {}
        for name in FIELD_NAMES:
            value = getattr(self, name)
            if isinstance(value, Parsed):
                value = value.text
            elif value is None:
                value = None if name == "volume_percentage" else ""
            elif isinstance(value, tuple):
                value = list(value)
            shown[name] = value
        return shown

    def newer_fields(self) -> dict[str, Any]:
        """The parameters added since the old service that were given, in text form (what
        the store keeps in its JSON column; rows of every earlier version hold the same)."""
        fields = self.to_fields()
        return {name: fields[name] for name in NEWER_FIELDS if fields[name] != _DEFAULTS[name]}

    @property
    def image_names(self) -> tuple[str, ...]:
        """``image`` then ``images``, each once: the images to run besides a stream's."""
        names = [self.image] if self.image else []
        names += [name for name in self.images if name not in names]
        return tuple(names)

    @property
    def source_directory(self) -> str:
        """The directory copied out of the pods: ``source_dir`` or ``/must-gather``."""
        return self.source_dir or DEFAULT_SOURCE_DIR


FIELD_NAMES = tuple(field.name for field in dataclasses.fields(GatheringOptions))
"""Every parameter, in the order the API shows them."""
# The text form of "not given" for each parameter (what ``newer_fields`` leaves out).
_DEFAULTS = GatheringOptions().to_fields()


def _read(name: str, value: Any) -> Any:
    if name in _PARSERS:
        return Parsed(text=str(value), value=_PARSERS[name](str(value)))
    if name == "images":
        return tuple(check(name, list(value)))
    if name in _FLAGS:
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not true or false")
        return value
    return check(name, value)

"""Validation of the parameters of ``POST /must-gather``: pure functions, no I/O.

Each validator takes the raw value and returns it normalised, or raises ValueError with a
message that says what was wrong and what is accepted, quoting at most 100 characters of the
input with control characters escaped. Messages do not name the field; the caller prefixes it.
"""

from __future__ import annotations

from must_gather_api.parameters.commands import COMMAND_MAX, Command, is_targeted, parse_command
from must_gather_api.parameters.images import ImageStreamRef, image, image_stream
from must_gather_api.parameters.options import GatheringOptions, InvalidOption, Parsed
from must_gather_api.parameters.servers import server
from must_gather_api.parameters.syntax import show
from must_gather_api.parameters.validators import (
    custom_name,
    format_node_selector,
    namespace,
    node_name,
    node_selector,
    since,
    since_time,
    source_dir,
    timeout,
    volume_percentage,
)

__all__ = [
    "COMMAND_MAX",
    "Command",
    "GatheringOptions",
    "ImageStreamRef",
    "InvalidOption",
    "Parsed",
    "custom_name",
    "format_node_selector",
    "image",
    "image_stream",
    "is_targeted",
    "namespace",
    "node_name",
    "node_selector",
    "parse_command",
    "server",
    "show",
    "since",
    "since_time",
    "source_dir",
    "timeout",
    "volume_percentage",
]

"""From a stored record to the ``Job`` an executor runs."""

from __future__ import annotations

from must_gather_api import durations
from must_gather_api.executors.base import Credentials, Job
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.records import Gathering
from must_gather_api.parameters import parse_command

DEFAULT_SOURCE_DIR = "/must-gather"


def job_for(gathering: Gathering, *, layout: Layout, credentials: Credentials | None) -> Job:
    """The record's parameters were validated when it was created; here they are parsed."""
    request = gathering.request
    options = dict(request.options)
    timeout_text = request.timeout
    if timeout_text.replace(".", "", 1).isdecimal():
        timeout_text += "s"
    images = [request.image] if request.image else []
    images += [image for image in options.pop("images", []) if image not in images]
    return Job(
        gathering_id=gathering.id,
        work_dir=layout.work_dir(gathering.id),
        timeout=durations.parse_duration(timeout_text),
        images=tuple(images),
        image_stream=request.image_stream,
        node_name=request.node_name,
        command=parse_command(request.command) if request.command else None,
        source_dir=request.source_dir or DEFAULT_SOURCE_DIR,
        server=request.server,
        options=options,
        credentials=credentials,
    )

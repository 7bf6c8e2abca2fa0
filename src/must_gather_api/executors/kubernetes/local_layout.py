"""The top of a gathered tree, named as ``oc adm must-gather`` names its destination
directory (``must-gather.local.<n>/``; openshift/oc ``pkg/cli/admin/mustgather/mustgather.go``):

    must-gather.logs          oc's own log of the run: its status lines and the cluster summary
    timestamp                 Go's ``time.Now()`` at the start and at the end, one a line
    event-filter.html         every event of every ``events.yaml`` below, in one page
    <image>/                  one per image: its ``/must-gather`` tree and ``gather.logs``
    <node>/<image>/           instead, one per image and node, with a node selector
    inspect.local.<n>/        oc's fallback inspect, when the pods could not gather

The work directory is that destination; the archive puts it under one root directory whose
name is the service's (docs/architecture.md, "The archive").
"""

from __future__ import annotations

import re

from must_gather_api.executors.kubernetes.console import LOGS_FILE, TIMESTAMP_FILE
from must_gather_api.executors.kubernetes.events_page import PAGE as EVENTS_PAGE

__all__ = ["EVENTS_PAGE", "LOGS_FILE", "TIMESTAMP_FILE", "folder_name"]

_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]+")


def folder_name(text: str, fallback: str) -> str:
    """oc's folder for an image ID or a node name: every run of characters other than ASCII
    letters and digits becomes one dash (``quay.io/x@sha256:ab`` → ``quay-io-x-sha256-ab``).
    An empty name, where oc would write into the destination itself, gets ``fallback``."""
    return _NOT_ALPHANUMERIC.sub("-", text) or fallback

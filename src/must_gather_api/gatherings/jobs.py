"""From a stored record to the ``Job`` an executor runs."""

from __future__ import annotations

from must_gather_api.executors.base import INTERRUPTED, Credentials, Job, NamespaceLedger
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.records import Gathering


class NoTimeout(ValueError):
    """A record without a timeout: the API always fills one in, so it was not made there."""


def job_for(
    gathering: Gathering,
    *,
    layout: Layout,
    credentials: Credentials | None,
    ledger: NamespaceLedger | None = None,
    interruption: str = INTERRUPTED,
) -> Job:
    """The record's options were validated and parsed when it was made or loaded."""
    options = gathering.request
    if options.timeout is None:
        raise NoTimeout(f"gathering {gathering.id} has no timeout")
    return Job(
        gathering_id=gathering.id,
        work_dir=layout.work_dir(gathering.id),
        timeout=options.timeout.value,
        options=options,
        credentials=credentials,
        ledger=ledger,
        interruption=interruption,
    )

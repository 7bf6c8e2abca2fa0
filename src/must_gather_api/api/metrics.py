"""Prometheus metrics of one application instance (its own registry, no globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from must_gather_api.executors.base import Outcome
from must_gather_api.gatherings.records import Gathering, Status


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.gatherings = Gauge(
            "must_gather_api_gatherings",
            "Gatherings known to the store, by status.",
            ["status"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "must_gather_api_queue_depth", "Gatherings waiting to run.", registry=self.registry
        )
        self.running = Gauge(
            "must_gather_api_running", "Gatherings running now.", registry=self.registry
        )
        self.leftover_namespaces = Gauge(
            "must_gather_api_leftover_namespaces",
            "Temporary namespaces of ended gatherings that the service could not delete "
            "(their names: the LEFTOVER log line and each gathering's error-reason).",
            registry=self.registry,
        )
        self.created = Counter(
            "must_gather_api_gatherings_created", "Gatherings requested.", registry=self.registry
        )
        self.durations = Histogram(
            "must_gather_api_gathering_duration_seconds",
            "How long gatherings ran, by how they ended and, for those in error, the kind of "
            "failure (timeout, image-pull, forbidden, ...).",
            ["status", "failure"],
            buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, float("inf")),
            registry=self.registry,
        )
        self.bytes_served = Counter(
            "must_gather_api_archive_bytes_served",
            "Archive bytes sent to clients (as announced in Content-Length).",
            registry=self.registry,
        )

    def finished(self, gathering: Gathering, outcome: Outcome, seconds: float) -> None:
        kind = outcome.kind
        failure = kind.value if kind is not None and gathering.status is Status.ERROR else ""
        self.durations.labels(status=gathering.status.value, failure=failure).observe(seconds)

    def render(
        self, *, counts: dict[Status, int], queued: int, running: int, leftovers: int = 0
    ) -> bytes:
        for status, number in counts.items():
            self.gatherings.labels(status=status.value).set(number)
        self.queue_depth.set(queued)
        self.running.set(running)
        self.leftover_namespaces.set(leftovers)
        return generate_latest(self.registry)

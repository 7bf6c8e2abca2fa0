"""oc's cluster summary: the ClusterID, the ClusterVersion's state and the ClusterOperators
that need attention, printed at the start and again at the end of a gathering.

``oc adm must-gather`` prints it (``pkg/cli/admin/mustgather/summary.go``) unprefixed, to
its output and to ``must-gather.logs``, so a support case carries it however the archive
travels; the same lines go to the gathering's output and to ``must-gather.logs`` here. oc
only prints the state twice; after the second one this also says what changed in between,
because an operator that degraded while the gathering ran is easy to miss in two lists.

Reads use the gathering's own calls (its credentials), each bounded in time; a read that
fails becomes a line saying so, never a failed gathering. Without the config.openshift.io
API (plain Kubernetes) both reads fail with 404 and the summary says it could not read them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from must_gather_api import __version__
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed

log = logging.getLogger(__name__)

VERSION_PATH = "/apis/config.openshift.io/v1/clusterversions/version"
OPERATORS_PATH = "/apis/config.openshift.io/v1/clusteroperators"
READ_BUDGET = 20.0
"""Seconds for one read at most (the request timeout bounds it too): a summary must not hold
up a gathering."""

HEADER = (
    "When opening a support case, bugzilla, or issue please include the following summary "
    "data along with any other requested information:"
)
REPRINT = "Reprinting Cluster State:"
CHANGES = "Cluster State changes during the gathering:"

# Operators every OpenShift 4 cluster has had (summary.go's longExistingOperators): one
# that is absent is reported missing, as an install that failed half way leaves them.
LONG_EXISTING_OPERATORS = (
    "authentication",
    "cloud-credential",
    "cluster-autoscaler",
    "config-operator",
    "console",
    "dns",
    "etcd",
    "image-registry",
    "ingress",
    "insights",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-storage-version-migrator",
    "machine-api",
    "machine-approver",
    "machine-config",
    "marketplace",
    "monitoring",
    "network",
    "openshift-apiserver",
    "openshift-controller-manager",
    "operator-lifecycle-manager",
    "service-ca",
    "storage",
)
HEALTHY = "healthy and stable"


@dataclass(frozen=True)
class VersionState:
    """The ClusterVersion as the summary states it; ``key`` leaves out the elapsed time, so
    two readings differ only when the state did."""

    cluster_id: str
    text: str
    key: tuple[str, ...]


@dataclass(frozen=True)
class ClusterState:
    """One reading; ``None`` where the read failed, with its reason beside it."""

    version: VersionState | None
    operators: tuple[tuple[str, str], ...] | None  # (name, state), "" when healthy
    version_error: str = ""
    operators_error: str = ""


# -- the rules of summary.go, over plain dicts ---------------------------------------------


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def go_quote(text: str) -> str:
    """Go's ``%q`` for the strings a cluster holds (JSON's escaping agrees for them)."""
    return json.dumps(text, ensure_ascii=False)


def human_duration(seconds: float) -> str:
    """docker/go-units' HumanDuration, which oc uses for "for <duration>"."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def _since(started: str, now: datetime) -> str:
    try:
        when = datetime.fromisoformat(started.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return human_duration((now - when).total_seconds())


def version_state(cluster_version: Mapping[str, Any], now: datetime) -> VersionState:
    """Installing, updating or stable, as summary.go's humanSummaryForClusterVersion says."""
    status = _mapping(cluster_version.get("status"))
    history = _items(status.get("history"))
    desired = _text(_mapping(status.get("desired")).get("version"))
    completed = bool(history) and history[0].get("state") == "Completed"
    elapsed = _since(_text(history[0].get("startedTime")), now) if history else "<unknown>"
    progressing = next(
        (
            _text(c.get("message"))
            for c in _items(status.get("conditions"))
            if c.get("type") == "Progressing"
        ),
        "<unknown>",
    )
    if not completed and len(history) <= 1:
        text = f"Installing {go_quote(desired)} for {elapsed}: {progressing}"
        key: tuple[str, ...] = ("installing", desired, progressing)
    elif not completed:
        previous = _text(history[1].get("version"))
        text = (
            f"Updating to {go_quote(desired)} from {go_quote(previous)} for {elapsed}: "
            f"{progressing}"
        )
        key = ("updating", desired, previous, progressing)
    else:
        text = f"Stable at {go_quote(_text(history[0].get('version')))}"
        key = ("stable", _text(history[0].get("version")))
    cluster_id = _text(_mapping(cluster_version.get("spec")).get("clusterID"))
    return VersionState(cluster_id=cluster_id, text=text, key=key)


def operator_state(cluster_operator: Mapping[str, Any]) -> str:
    """What needs attention in one ClusterOperator ("" when nothing does): the first of not
    available, degraded, not upgradeable, progressing. Available must be True; a missing
    Degraded or Progressing counts as set, a missing Upgradeable as upgradeable."""
    conditions = _items(_mapping(cluster_operator.get("status")).get("conditions"))

    def find(kind: str) -> Mapping[str, Any] | None:
        return next((c for c in conditions if c.get("type") == kind), None)

    def message(kind: str) -> str:
        found = find(kind)
        return "<missing>" if found is None else _text(found.get("message"))

    def is_false(kind: str) -> bool:
        found = find(kind)
        return found is not None and found.get("status") == "False"

    available = (find("Available") or {}).get("status") == "True"
    if not available:
        return f"is not available ({message('Available')}) because {message('Degraded')}"
    if not is_false("Degraded"):
        return f"is degraded because {message('Degraded')}"
    if is_false("Upgradeable"):
        return f"is not upgradeable because {message('Upgradeable')}"
    if not is_false("Progressing"):
        return f"is progressing: {message('Progressing')}"
    return ""


def operator_states(cluster_operators: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Every listed operator in the list's order, then the long-existing ones not listed."""
    listed = [
        (_text(_mapping(item.get("metadata")).get("name")), operator_state(item))
        for item in _items(cluster_operators.get("items"))
    ]
    present = {name for name, _ in listed}
    missing = [(name, "is missing") for name in LONG_EXISTING_OPERATORS if name not in present]
    return (*listed, *missing)


# -- the text -------------------------------------------------------------------------------


def client_version() -> str:
    return f"must-gather-api {__version__}"


def summary_lines(state: ClusterState) -> list[str]:
    """The summary as oc prints it, ending with its two blank lines."""
    lines = [HEADER]
    if state.version is None:
        lines.append(f"error getting cluster version: {state.version_error}")
        lines += ["ClusterID: <unknown>", f"ClientVersion: {client_version()}"]
        lines.append("ClusterVersion: could not be read")
    else:
        lines += [
            f"ClusterID: {state.version.cluster_id}",
            f"ClientVersion: {client_version()}",
            f"ClusterVersion: {state.version.text}",
        ]
    if state.operators is None:
        lines.append(f"error getting cluster operators: {state.operators_error}")
    lines.append("ClusterOperators:")
    if state.operators is None:
        lines.append("\tclusteroperators could not be read")
    elif all(text == "is missing" for _, text in state.operators):
        lines.append("\tclusteroperators are missing")
    else:
        noteworthy = [f"clusteroperator/{name} {text}" for name, text in state.operators if text]
        lines += [f"\t{line}" for line in noteworthy] or [f"\tAll {HEALTHY}"]
    return [*lines, "", ""]


def difference_lines(before: ClusterState, after: ClusterState) -> list[str]:
    """What changed between two readings: one line per change, or one saying none did."""
    changes: list[str] = []
    if before.version is None or after.version is None:
        changes.append("ClusterVersion: not compared, it could not be read both times")
    else:
        if before.version.cluster_id != after.version.cluster_id:
            changes.append(f"ClusterID: {before.version.cluster_id} -> {after.version.cluster_id}")
        if before.version.key != after.version.key:
            changes.append(f"ClusterVersion: {before.version.text} -> {after.version.text}")
    if before.operators is None or after.operators is None:
        changes.append("ClusterOperators: not compared, they could not be read both times")
    else:
        old, new = dict(before.operators), dict(after.operators)
        for name in [*old, *(name for name in new if name not in old)]:
            was, now = old.get(name, "is absent"), new.get(name, "is absent")
            if was != now:
                changes.append(f"clusteroperator/{name}: {was or HEALTHY} -> {now or HEALTHY}")
    if not changes:
        return [f"{CHANGES} none", ""]
    return [CHANGES, *(f"\t{change}" for change in changes), ""]


# -- reading and printing -------------------------------------------------------------------


async def read_state(calls: ClusterCalls, *, now: datetime | None = None) -> ClusterState:
    """Both reads, each once as oc makes them (a summary is not worth a retry's wait), each
    within the request timeout and at most ``READ_BUDGET``; a failure is kept as its reason."""
    version: VersionState | None = None
    operators: tuple[tuple[str, str], ...] | None = None
    version_error = operators_error = ""
    try:
        found = await _read(calls, VERSION_PATH, "read clusterversion/version")
        version = version_state(_mapping(found), now or datetime.now(UTC))
    except ClusterCallFailed as e:
        version_error = e.reason
    try:
        listed = await _read(calls, OPERATORS_PATH, "list clusteroperators")
        operators = operator_states(_mapping(listed))
    except ClusterCallFailed as e:
        operators_error = e.reason
    return ClusterState(version, operators, version_error, operators_error)


async def _read(calls: ClusterCalls, path: str, what: str) -> Any:
    try:
        async with asyncio.timeout(READ_BUDGET):
            return await calls.request("GET", path, what=what, retry=False)
    except TimeoutError as e:
        raise ClusterCallFailed(f"cannot {what}: the API server did not answer in time") from e


class ClusterSummaries:
    """The summary of one gathering: ``start`` prints the first; ``end``, an exit callback
    of the run's exit stack (so it comes after the namespace is removed, as oc's deferred
    reprint does), reprints it and the changes. Only after a start, as oc prints both or
    neither; not after a cancel, as oc skips its reprint when interrupted."""

    def __init__(self) -> None:
        self._first: ClusterState | None = None
        self._where: tuple[ClusterCalls, Console] | None = None

    async def start(self, calls: ClusterCalls, console: Console) -> None:
        self._where = (calls, console)
        self._first = await _printed(calls, console, [])

    def resumed(self, calls: ClusterCalls, console: Console) -> None:
        """After a restart: the earlier process printed the start; the end is reprinted
        here, without the changes (the first state left with that process)."""
        self._where = (calls, console)

    async def end(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: object,
    ) -> None:
        del exc, traceback
        where, self._where = self._where, None
        if where is None or (exc_type is not None and issubclass(exc_type, asyncio.CancelledError)):
            return
        calls, console = where
        last = await _printed(calls, console, ["", "", REPRINT])
        if last is not None and self._first is not None:
            console.raw("\n".join(difference_lines(self._first, last)))


async def _printed(calls: ClusterCalls, console: Console, before: list[str]) -> ClusterState | None:
    try:
        state = await read_state(calls)
    except Exception:  # informational only: a bug here must not fail the gathering
        log.exception("the cluster summary could not be made")
        console.raw("\n".join([*before, "the cluster summary could not be made", ""]))
        return None
    console.raw("\n".join([*before, *summary_lines(state)]))
    return state

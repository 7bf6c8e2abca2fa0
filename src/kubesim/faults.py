"""Faults injected on purpose: API errors, latency, cut streams, a node NotReady, a revoked token.

They are set at start (``kubesim serve --fault ...``), through ``/kubesim/faults`` or from
Python (``cluster.faults``). The server reads the API-side ones; the kubelet's stream handlers
read ``exec_cut_after_bytes``, ``log_disconnect_after_bytes`` and ``log_break_after_bytes``.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from kubesim import kinds
from kubesim.errors import BadRequest
from kubesim.store import now_rfc3339

if TYPE_CHECKING:
    from kubesim.auth import Users
    from kubesim.store import Store

API_ERROR_STATUSES = (403, 429, 500, 503)


@dataclass
class ApiErrorRule:
    """Fail matching requests with ``status`` at ``rate`` (0..1); only ``count`` times if set."""

    status: int = 500
    rate: float = 1.0
    count: int | None = None
    path: str | None = None  # a regex searched in the request path
    retry_after: int | None = None  # seconds, sent as Retry-After
    # only requests authenticated as this user (its name, such as kube:admin), so that a
    # fault can aim at one client's calls and not at the gather pod's, which share paths
    user: str | None = None
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.status not in API_ERROR_STATUSES:
            raise BadRequest(f"api error status must be one of {API_ERROR_STATUSES}")
        if not 0.0 <= self.rate <= 1.0:
            raise BadRequest("api error rate must be within 0..1")
        try:
            self._pattern = re.compile(self.path) if self.path else None
        except re.error as e:
            raise BadRequest(f"bad api error path regex {self.path!r}: {e}") from e

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


class Faults:
    def __init__(
        self,
        *,
        store: Store | None = None,
        users: Users | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._users = users
        self._rng = rng or random.Random()  # noqa: S311 - fault rates need no crypto
        self.api_errors: list[ApiErrorRule] = []
        self.latency_seconds: float = 0.0
        self.exec_cut_after_bytes: int | None = None
        self.watch_disconnect_after: int | None = None
        self.log_disconnect_after_bytes: int | None = None
        self.log_break_after_bytes: int | None = None

    def clear(self) -> None:
        """Back to no faults (nodes made NotReady and revoked tokens stay as they are)."""
        self.api_errors.clear()
        self.latency_seconds = 0.0
        self.exec_cut_after_bytes = None
        self.watch_disconnect_after = None
        self.log_disconnect_after_bytes = None
        self.log_break_after_bytes = None

    def pick_api_error(self, path: str, user: str | None = None) -> ApiErrorRule | None:
        """The rule that fails this request (by ``user``, None when its token is not known),
        if any; counted rules are used up."""
        for rule in self.api_errors:
            if rule._pattern is not None and not rule._pattern.search(path):
                continue
            if rule.user is not None and rule.user != user:
                continue
            if rule.count is not None and rule.count <= 0:
                continue
            if rule.rate < 1.0 and self._rng.random() >= rule.rate:
                continue
            if rule.count is not None:
                rule.count -= 1
            return rule
        return None

    def node_not_ready(self, name: str) -> None:
        """The node's Ready condition turns Unknown/False and it gets the not-ready taint."""
        if self._store is None:
            raise BadRequest("these faults have no store to change nodes in")
        node = self._store.get(kinds.NODES, name)
        now = now_rfc3339()
        conditions = node.setdefault("status", {}).setdefault("conditions", [])
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        if ready is None:
            ready = {"type": "Ready"}
            conditions.append(ready)
        ready.update(
            status="False",
            reason="KubeletNotReady",
            message="kubesim fault: node made NotReady",
            lastTransitionTime=now,
            lastHeartbeatTime=now,
        )
        taints = node.setdefault("spec", {}).setdefault("taints", [])
        if not any(t.get("key") == "node.kubernetes.io/not-ready" for t in taints):
            taints.append(
                {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule", "timeAdded": now}
            )
        node["metadata"].pop("resourceVersion", None)
        self._store.replace(kinds.NODES, node)

    def revoke_token(self, token: str) -> None:
        if self._users is None:
            raise BadRequest("these faults have no users to revoke a token of")
        self._users.revoke(token)

    # -- JSON (the admin endpoint) and text (the command line) forms --------------------------

    def as_json(self) -> dict[str, Any]:
        return {
            "api_errors": [r.as_json() for r in self.api_errors],
            "latency_seconds": self.latency_seconds,
            "exec_cut_after_bytes": self.exec_cut_after_bytes,
            "watch_disconnect_after": self.watch_disconnect_after,
            "log_disconnect_after_bytes": self.log_disconnect_after_bytes,
            "log_break_after_bytes": self.log_break_after_bytes,
        }

    def apply_json(self, body: dict[str, Any]) -> None:
        """Adds what a ``POST /kubesim/faults`` body asks for; unknown keys raise BadRequest."""
        known = {
            "api_errors",
            "latency_seconds",
            "exec_cut_after_bytes",
            "watch_disconnect_after",
            "log_disconnect_after_bytes",
            "log_break_after_bytes",
            "node_not_ready",
            "revoke_token",
        }
        unknown = set(body) - known
        if unknown:
            raise BadRequest(f"unknown fault settings: {sorted(unknown)}")
        try:
            rules = [ApiErrorRule(**r) for r in body.get("api_errors", [])]
            for name in ("latency_seconds",):
                if name in body:
                    setattr(self, name, float(body[name]))
            for name in (
                "exec_cut_after_bytes",
                "watch_disconnect_after",
                "log_disconnect_after_bytes",
                "log_break_after_bytes",
            ):
                if name in body:
                    setattr(self, name, None if body[name] is None else int(body[name]))
        except (TypeError, ValueError) as e:
            raise BadRequest(f"bad fault settings: {e}") from e
        self.api_errors.extend(rules)
        for node in _as_list(body.get("node_not_ready")):
            self.node_not_ready(node)
        for token in _as_list(body.get("revoke_token")):
            self.revoke_token(token)

    def apply_spec(self, spec: str) -> None:
        """One ``--fault`` switch; see :func:`parse_fault_spec`."""
        self.apply_json(parse_fault_spec(spec))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def parse_fault_spec(spec: str) -> dict[str, Any]:
    """The JSON form of one command-line fault.

    ``api-error=503[:rate=0.5][:count=3][:path=REGEX][:retry-after=2][:user=NAME]``
    (``user`` last: a user's name may hold colons), ``latency=0.2``,
    ``exec-cut=BYTES``, ``watch-disconnect=EVENTS``, ``log-disconnect=BYTES``, ``log-break=BYTES``,
    ``node-not-ready=NODE``, ``revoke-token=TOKEN``.
    """
    name, sep, rest = spec.partition("=")
    if not sep:
        raise BadRequest(f"fault {spec!r} has no value (expected NAME=VALUE)")
    simple = {
        "latency": "latency_seconds",
        "exec-cut": "exec_cut_after_bytes",
        "watch-disconnect": "watch_disconnect_after",
        "log-disconnect": "log_disconnect_after_bytes",
        "log-break": "log_break_after_bytes",
        "node-not-ready": "node_not_ready",
        "revoke-token": "revoke_token",
    }
    if name in simple:
        return {simple[name]: rest}
    if name != "api-error":
        raise BadRequest(f"unknown fault {name!r}")
    rest, _, user = rest.partition(":user=")
    status, *options = rest.split(":")
    rule: dict[str, Any] = {"user": user} if user else {}
    try:
        rule["status"] = int(status)
        for option in options:
            key, _, value = option.partition("=")
            if key == "rate":
                rule["rate"] = float(value)
            elif key == "count":
                rule["count"] = int(value)
            elif key == "retry-after":
                rule["retry_after"] = int(value)
            elif key == "path":
                rule["path"] = value
            else:
                raise BadRequest(f"unknown api-error option {key!r} in {spec!r}")
    except ValueError as e:
        raise BadRequest(f"bad fault {spec!r}: {e}") from e
    return {"api_errors": [rule]}

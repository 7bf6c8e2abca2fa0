"""The in-memory object store: plain JSON dicts, resource versions, watches and cascades.

Everything runs on one event loop, so methods are synchronous and atomic; only watching
awaits. Callers always get deep copies, so nothing outside can mutate a stored object.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from kubesim import kinds
from kubesim.errors import AlreadyExists, Conflict, Forbidden, Gone, Invalid, NotFound
from kubesim.kinds import Kind
from kubesim.selectors import field_matcher, label_matcher
from kubesim.validation import validate

_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

Event = tuple[str, dict[str, Any]]


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Recorded:
    """One event of the history: the object as it was at ``rv``, a copy nothing changes."""

    rv: int
    kind: Kind
    type: str
    obj: dict[str, Any]


class Watch:
    """Events of one kind (optionally one namespace) from the moment it was made.

    Use as ``async with store.watch(k) as w: async for type_, obj in w`` or iterate it
    directly and call :meth:`close`; either way it unsubscribes.
    """

    def __init__(self, store: Store, kind: Kind, namespace: str | None) -> None:
        self.kind = kind
        self.namespace = namespace
        self._store = store
        self._queue: collections.deque[Event] = collections.deque()
        self._wakeup = asyncio.Event()
        self._closed = False

    def _offer(self, event_type: str, obj: dict[str, Any]) -> None:
        if self._closed:
            return
        if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
            return
        self._queue.append((event_type, copy.deepcopy(obj)))
        self._wakeup.set()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._store._unsubscribe(self)
            self._wakeup.set()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._queue.popleft()

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Store:
    def __init__(self, *, history: int = 10_000) -> None:
        self._objects: dict[Kind, dict[tuple[str, str], dict[str, Any]]] = {}
        self._rv = 1
        self._watches: list[Watch] = []
        self._history: collections.deque[_Recorded] = collections.deque(maxlen=history)

    # -- reading ------------------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        """The newest resource version handed out, as lists report it."""
        return str(self._rv)

    @property
    def history_size(self) -> int:
        """How many events the history keeps (older resource versions are compacted)."""
        return self._history.maxlen or 0

    def history_covers(self, rv: int) -> bool:
        """Whether every event after ``rv`` is still in the history (not compacted)."""
        return not self._history or rv >= self._history[0].rv - 1

    def get(self, kind: Kind, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        return copy.deepcopy(self._get_stored(kind, name, namespace))

    def list(
        self,
        kind: Kind,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """Matching objects sorted by namespace and name; bad selectors raise BadRequest."""
        by_labels = label_matcher(label_selector)
        by_fields = field_matcher(field_selector)
        found = [
            copy.deepcopy(obj)
            for (ns, _), obj in sorted(self._objects.get(kind, {}).items())
            if (namespace is None or ns == namespace) and by_labels(obj) and by_fields(obj)
        ]
        return found

    def watch(self, kind: Kind, *, namespace: str | None = None, since: str | None = None) -> Watch:
        """Events from now on; with ``since`` (a resource version) first replays later events.

        Raises Gone when ``since`` is older than the history kept.
        """
        w = Watch(self, kind, namespace)
        if since not in (None, "", "0"):
            try:
                since_rv = int(str(since))
            except ValueError as e:
                raise Invalid(f"invalid resource version {since!r}") from e
            if not self.history_covers(since_rv):
                raise Gone(f"too old resource version: {since_rv} ({self._history[0].rv - 1})")
            for rec in self._history:
                if rec.rv > since_rv and rec.kind == kind:
                    w._offer(rec.type, rec.obj)
        self._watches.append(w)
        return w

    # -- writing ------------------------------------------------------------------------------

    def create(self, kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
        return self._create(kind, obj, keep_created=False)

    def _create(self, kind: Kind, obj: dict[str, Any], *, keep_created: bool) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise Invalid(f"{kind.kind} metadata must be an object", kind=kind.kind)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = self._generated_name(kind, meta["generateName"], meta.get("namespace"))
        name = meta.get("name") or ""
        if kind.namespaced:
            namespace = meta.get("namespace") or "default"
            meta["namespace"] = namespace
            self._check_namespace_open(namespace)
        else:
            meta.pop("namespace", None)
            namespace = ""
        validate(kind, obj)
        key = (namespace, name)
        bucket = self._objects.setdefault(kind, {})
        if key in bucket:
            raise AlreadyExists(
                f'{kind.group_resource} "{name}" already exists',
                kind=kind.plural,
                name=name,
                group=kind.group,
            )
        obj = _typed(kind, obj)
        meta["uid"] = str(uuid.uuid4())
        if not (keep_created and meta.get("creationTimestamp")):
            meta["creationTimestamp"] = now_rfc3339()
        if "spec" in obj:
            meta.setdefault("generation", 1)
        meta.pop("deletionTimestamp", None)
        if kind == kinds.NAMESPACES:
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        meta["resourceVersion"] = self._next_rv()
        bucket[key] = obj
        self._emit(kind, "ADDED", obj)
        if kind == kinds.NAMESPACES:
            self._ensure_default_service_account(name)
        return copy.deepcopy(obj)

    def replace(self, kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
        """Stores a new version; a stale ``metadata.resourceVersion`` raises Conflict."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        name = meta.get("name") or ""
        namespace = (meta.get("namespace") or "default") if kind.namespaced else None
        stored = self._get_stored(kind, name, namespace)
        sent_rv = meta.get("resourceVersion")
        if sent_rv and sent_rv != stored["metadata"]["resourceVersion"]:
            raise Conflict(
                f'Operation cannot be fulfilled on {kind.group_resource} "{name}": the object '
                "has been modified; please apply your changes to the latest version and try again",
                kind=kind.plural,
                name=name,
                group=kind.group,
            )
        validate(kind, obj)
        old_meta = stored["metadata"]
        for immutable in ("uid", "creationTimestamp", "deletionTimestamp", "namespace"):
            if immutable in old_meta:
                meta[immutable] = old_meta[immutable]
        if "generation" in old_meta:
            changed = obj.get("spec") != stored.get("spec")
            meta["generation"] = int(old_meta["generation"]) + (1 if changed else 0)
        obj = _typed(kind, obj)
        meta["resourceVersion"] = self._next_rv()
        self._objects[kind][(namespace or "", name)] = obj
        self._emit(kind, "MODIFIED", obj)
        return copy.deepcopy(obj)

    def delete(self, kind: Kind, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        """Removes an object (a namespace with all it holds) and returns its last state."""
        stored = self._get_stored(kind, name, namespace)
        if kind == kinds.NAMESPACES:
            return self._delete_namespace(stored)
        return self._remove(kind, stored)

    def restore(self, kind: Kind, objects: Iterable[dict[str, Any]]) -> None:
        """Creates objects, skipping those that exist already (seeding a cluster).

        Unlike :meth:`create` it keeps a ``creationTimestamp`` the object brings, so seeded
        objects can look old.
        """
        for obj in objects:
            try:
                self._create(kind, obj, keep_created=True)
            except AlreadyExists:
                continue

    # -- internals ----------------------------------------------------------------------------

    def _get_stored(self, kind: Kind, name: str, namespace: str | None) -> dict[str, Any]:
        ns = (namespace or "default") if kind.namespaced else ""
        try:
            return self._objects[kind][(ns, name)]
        except KeyError:
            raise NotFound(
                f'{kind.group_resource} "{name}" not found',
                kind=kind.plural,
                name=name,
                group=kind.group,
            ) from None

    def _check_namespace_open(self, namespace: str) -> None:
        ns = self._objects.get(kinds.NAMESPACES, {}).get(("", namespace))
        if ns is None:
            raise NotFound(f'namespaces "{namespace}" not found', kind="namespaces", name=namespace)
        if ns.get("status", {}).get("phase") == "Terminating":
            raise Forbidden(
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
                kind="namespaces",
                name=namespace,
            )

    def _ensure_default_service_account(self, namespace: str) -> None:
        if (namespace, "default") in self._objects.get(kinds.SERVICE_ACCOUNTS, {}):
            return
        self.create(
            kinds.SERVICE_ACCOUNTS,
            {"metadata": {"name": "default", "namespace": namespace}},
        )

    def _generated_name(self, kind: Kind, prefix: str, namespace: str | None) -> str:
        bucket = self._objects.get(kind, {})
        ns = (namespace or "default") if kind.namespaced else ""
        while True:
            suffix = "".join(
                _GENERATE_ALPHABET[b % len(_GENERATE_ALPHABET)] for b in uuid.uuid4().bytes[:5]
            )
            name = f"{prefix[:58]}{suffix}"
            if (ns, name) not in bucket:
                return name

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _emit(self, kind: Kind, event_type: str, obj: dict[str, Any]) -> None:
        # A snapshot: the stored object changes later (a delete stamps it), and a replay from
        # a resourceVersion must show it as it was then, as the watch cache does.
        snapshot = copy.deepcopy(obj)
        self._history.append(
            _Recorded(int(obj["metadata"]["resourceVersion"]), kind, event_type, snapshot)
        )
        for w in list(self._watches):
            if w.kind == kind:
                w._offer(event_type, obj)

    def _unsubscribe(self, w: Watch) -> None:
        if w in self._watches:
            self._watches.remove(w)

    def _remove(self, kind: Kind, stored: dict[str, Any]) -> dict[str, Any]:
        meta = stored["metadata"]
        key = (meta.get("namespace", "") if kind.namespaced else "", meta["name"])
        if self._objects.get(kind, {}).pop(key, None) is None:
            return copy.deepcopy(stored)  # already gone through a cascade
        # As in etcd, the DELETED event carries the last state at the deletion's revision; only
        # graceful deletions (pods, finalizing namespaces) stamp deletionTimestamp first.
        meta["resourceVersion"] = self._next_rv()
        self._emit(kind, "DELETED", stored)
        self._collect_dependents(meta["uid"])
        return copy.deepcopy(stored)

    def _collect_dependents(self, owner_uid: str) -> None:
        """Garbage-collects objects whose last owner was just deleted."""
        for kind, bucket in list(self._objects.items()):
            for obj in list(bucket.values()):
                refs = obj["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == owner_uid for r in refs):
                    continue
                remaining = [r for r in refs if r.get("uid") != owner_uid]
                if any(self._uid_exists(r.get("uid", "")) for r in remaining):
                    continue
                self._remove(kind, obj)

    def _uid_exists(self, uid: str) -> bool:
        return any(
            obj["metadata"].get("uid") == uid
            for bucket in self._objects.values()
            for obj in bucket.values()
        )

    def _delete_namespace(self, ns_obj: dict[str, Any]) -> dict[str, Any]:
        name = ns_obj["metadata"]["name"]
        if ns_obj.get("status", {}).get("phase") != "Terminating":
            ns_obj["status"] = {"phase": "Terminating"}
            ns_obj["metadata"]["deletionTimestamp"] = now_rfc3339()
            ns_obj["metadata"]["resourceVersion"] = self._next_rv()
            self._emit(kinds.NAMESPACES, "MODIFIED", ns_obj)
        terminating = copy.deepcopy(ns_obj)
        for kind, bucket in list(self._objects.items()):
            if not kind.namespaced:
                continue
            for (ns, _), obj in list(bucket.items()):
                if ns == name:
                    self._remove(kind, obj)
        # Removing the namespace also collects cluster-scoped objects it owns.
        self._remove(kinds.NAMESPACES, ns_obj)
        return terminating


def _typed(kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
    """The object with ``apiVersion`` and ``kind`` set, and first, as the API server writes them."""
    rest = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    return {"apiVersion": kind.api_version, "kind": kind.kind, **rest}

"""What ``pods/log`` and ``pods/exec`` requests find in a pod: the container they mean and
the log they read, with the API server's errors for a wrong container or a waiting one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubesim.errors import BadRequest
from kubesim.kubelet.logs import LogWriter, annotation_records
from kubesim.seed.objects import LOG_ANNOTATION, STATIC_ANNOTATION

if TYPE_CHECKING:
    from kubesim.kubelet.containers import ContainerRunner
    from kubesim.kubelet.pods import PodWorker

# A pod with STATIC_ANNOTATION (or with container statuses already written) is left alone: it
# stands for a pod some other kubelet runs, as kubesim's seed pods do. Its log is served from
# ``kubesim.io/log.<container>`` or LOG_ANNOTATION, one ``<RFC3339Nano> <text>`` line each.


class LogSource:
    """The log file of one container run and its writer while the run goes on; or, for a pod
    kubesim does not run, its CRI records in memory."""

    def __init__(self, path: Path | None, live: LogWriter | None, records: bytes = b"") -> None:
        self.path = path
        self.live = live
        self.records = records


def static_log(pod: dict[str, Any], container: str, *, previous: bool = False) -> LogSource:
    """The log of a pod kubesim does not run, from its annotations. Its previous log is the
    same text when the status says the container restarted; otherwise, as the kubelet says,
    there is none."""
    annotations = pod["metadata"].get("annotations") or {}
    if previous:
        statuses = [
            *((pod.get("status") or {}).get("containerStatuses") or []),
            *((pod.get("status") or {}).get("initContainerStatuses") or []),
        ]
        restarts = max(
            (int(s.get("restartCount") or 0) for s in statuses if s.get("name") == container),
            default=0,
        )
        if restarts < 1:
            name = pod["metadata"]["name"]
            raise BadRequest(
                f'previous terminated container "{container}" in pod "{name}" not found'
            )
    text = annotations.get(f"{LOG_ANNOTATION}.{container}", annotations.get(LOG_ANNOTATION))
    return LogSource(None, None, annotation_records(str(text or "")))


def runner_log(worker: PodWorker, runner: ContainerRunner, *, previous: bool) -> LogSource:
    """The current (or previous) log of one container kubesim runs."""
    name = worker.name
    status = runner.status
    if previous:
        path = worker.dirs.log_file(runner.name, status.restart_count - 1)
        if status.restart_count < 1 or not path.exists():
            raise BadRequest(
                f'previous terminated container "{runner.name}" in pod "{name}" not found'
            )
        return LogSource(path, None)
    current = worker.dirs.log_file(runner.name, status.restart_count)
    writer = runner.log_writer
    if writer is not None and writer.path == current:
        return LogSource(current, writer)
    if status.restart_count > 0:
        # Between runs (CrashLoopBackOff) the last run's log is what there is.
        last = worker.dirs.log_file(runner.name, status.restart_count - 1)
        if last.exists():
            return LogSource(last, None)
    reason = status.waiting_reason or "ContainerCreating"
    detail = "trying and failing to pull image" if "Pull" in reason else reason
    raise BadRequest(f'container "{runner.name}" in pod "{name}" is waiting to start: {detail}')


def resolve_container(pod: dict[str, Any], container: str | None) -> str:
    """The container a request means, with the API server's errors for a wrong or missing one."""
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    names = [str(c.get("name")) for c in spec.get("containers") or []]
    init_names = [str(c.get("name")) for c in spec.get("initContainers") or []]
    if not container:
        if len(names) == 1:
            return names[0]
        message = (
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        )
        if init_names:
            message += f" or one of the init containers: [{' '.join(init_names)}]"
        raise BadRequest(message)
    if container not in names + init_names:
        raise BadRequest(f"container {container} is not valid for pod {name}")
    return container


def managed(pod: dict[str, Any]) -> bool:
    """Whether kubesim's kubelet runs this pod (not a static pod, not one already finished)."""
    annotations = pod["metadata"].get("annotations") or {}
    if str(annotations.get(STATIC_ANNOTATION, "")).lower() == "true":
        return False
    status = pod.get("status") or {}
    return not status.get("containerStatuses") and status.get("phase") not in (
        "Succeeded",
        "Failed",
    )

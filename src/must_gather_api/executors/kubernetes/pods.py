"""The gather pod, as oc builds it (``defaultMustGatherPod`` + ``newPod``).

Two containers share an emptyDir at the source directory: ``gather`` runs the image's
gather (or the request's command) under oc's disk-usage watchdog, and ``copy`` sleeps so
the data can be copied out with ``tar`` after gather has ended.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from must_gather_api.durations import format_duration
from must_gather_api.executors.base import Job
from must_gather_api.executors.kubernetes import local_layout, nodes
from must_gather_api.executors.kubernetes.namespaces import labels
from must_gather_api.parameters import Command

GATHER = "gather"
COPY = "copy"
VOLUME = "must-gather-output"
DEFAULT_COMMAND = "/usr/bin/gather"
DEFAULT_VOLUME_PERCENTAGE = 70

# oc's command, with its placeholders: the watchdog kills the gathering when the volume
# fills past the limit.
# Two changes: the container exits with gather's own status (oc's exits 0 whatever gather
# did, so that the data is still copied: here the data is copied after a failure too, and
# the exit code can be reported); and the watchdog is stopped at the end. A real container
# ends with its main process anyway; a runtime that waits for the output pipes to close
# (kubesim on Python 3.11) would otherwise never see gather end.
_POD_COMMAND = """\
if command -v setsid >/dev/null 2>&1 && command -v ps >/dev/null 2>&1 && \
command -v pkill >/dev/null 2>&1; then
  HAVE_SESSION_TOOLS=true
else
  HAVE_SESSION_TOOLS=false
fi

echo "[disk usage checker] Started"
target_dir="@TARGET@"
usage_percentage_limit="@LIMIT@"
while true; do
usage_percentage=$(df -P "$target_dir" | awk 'NR==2 {print $5}' | sed 's/%//')
echo "[disk usage checker] Volume usage percentage: current = ${usage_percentage} ; \
allowed = ${usage_percentage_limit}"
if [ "$usage_percentage" -gt "$usage_percentage_limit" ]; then
\techo "[disk usage checker] Disk usage exceeds the volume percentage of \
${usage_percentage_limit} for mounted directory, terminating..."
\tif [ "$HAVE_SESSION_TOOLS" = "true" ]; then
\t\tps -o sess --no-headers | sort -u | while read sid; do
\t\t\t[[ "$sid" -eq "${$}" ]] && continue
\t\t\tpkill --signal SIGKILL --session "$sid"
\t\tdone
\telse
\t\tkill 0
\tfi
\texit 1
fi
sleep 5
done & checker=$!
if [ "$HAVE_SESSION_TOOLS" = "true" ]; then
  setsid -w bash <<-'MUSTGATHER_EOF'
@COMMAND@
MUSTGATHER_EOF
else
  @COMMAND@
fi; gather_status=$?; sync && echo 'Caches written to disk'
pkill -P "$checker" >/dev/null 2>&1; kill "$checker" >/dev/null 2>&1
exit $gather_status"""


@dataclass(frozen=True)
class PodOptions:
    gathering_id: int
    source_dir: str = "/must-gather"
    command: Command | None = None
    volume_percentage: int = DEFAULT_VOLUME_PERCENTAGE
    host_network: bool = False
    since: str = ""  # already in Go's Duration.String() form
    since_time: str = ""
    has_master: bool = False
    candidates: tuple[str, ...] = ()
    instance: str = "default"

    @classmethod
    def of(
        cls,
        job: Job,
        *,
        has_master: bool = False,
        candidates: Sequence[str] = (),
        instance: str = "default",
    ) -> PodOptions:
        """The pods' part of a gathering's options, with where the nodes say to run."""
        options = job.options
        return cls(
            gathering_id=job.gathering_id,
            source_dir=options.source_directory,
            command=options.command.value if options.command else None,
            volume_percentage=options.volume_percentage or DEFAULT_VOLUME_PERCENTAGE,
            host_network=options.host_network,
            since=format_duration(options.since.value) if options.since else "",
            since_time=options.since_time.text if options.since_time else "",
            has_master=has_master,
            candidates=tuple(candidates),
            instance=instance,
        )


def pod_command(options: PodOptions) -> str:
    """The script for ``/bin/bash -c``; the request's argv is quoted word by word.

    The heredoc delimiter is quoted (oc's is not) so that the outer shell expands nothing
    in the request's words: they reach the inner shell exactly as they were quoted.
    """
    if options.command is None:
        gather = DEFAULT_COMMAND
    else:
        gather = Command(env=(), argv=options.command.argv).as_shell()
    return (
        _POD_COMMAND.replace("@TARGET@", posixpath.normpath(options.source_dir))
        .replace("@LIMIT@", str(options.volume_percentage))
        .replace("@COMMAND@", gather)
    )


def pod_body(image: str, node: str, options: PodOptions) -> dict[str, Any]:
    mount_path = posixpath.normpath(options.source_dir)
    mounts = [{"name": VOLUME, "mountPath": mount_path, "readOnly": False}]
    env: list[dict[str, Any]] = [
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    if options.since:
        env.append({"name": "MUST_GATHER_SINCE", "value": options.since})
    if options.since_time:
        env.append({"name": "MUST_GATHER_SINCE_TIME", "value": options.since_time})
    if options.command is not None:
        env += [{"name": name, "value": value} for name, value in options.command.env]
    gather: dict[str, Any] = {
        "name": GATHER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/bash", "-c", pod_command(options)],
        "env": env,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": mounts,
    }
    if options.host_network:
        gather["securityContext"] = {"capabilities": {"add": ["CAP_NET_RAW"]}}
    spec: dict[str, Any] = {
        "priorityClassName": "system-cluster-critical",
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 0,
        "hostNetwork": options.host_network,
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"operator": "Exists"}],
        "volumes": [{"name": VOLUME, "emptyDir": {}}],
        "containers": [
            gather,
            {
                "name": COPY,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["/bin/bash", "-c", "trap : TERM INT; sleep infinity & wait"],
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "volumeMounts": mounts,
            },
        ],
    }
    if node:
        spec["nodeName"] = node
    else:
        if options.has_master:
            spec["nodeSelector"][nodes.CONTROL_PLANE] = ""
        steering = nodes.affinity(list(options.candidates))
        if steering is not None:
            spec["affinity"] = steering
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "must-gather-",
            "labels": {"app": "must-gather", **labels(options.gathering_id, options.instance)},
        },
        "spec": spec,
    }


def container_status(pod: dict[str, Any], name: str) -> dict[str, Any]:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == name:
            return dict(status)
    return {}


def image_folder(pod: dict[str, Any], fallback: str) -> str:
    """oc's directory for one image's data, named after the gather container's image ID."""
    image_id = str(container_status(pod, GATHER).get("imageID") or fallback)
    return local_layout.folder_name(image_id, "image")

from __future__ import annotations

from datetime import timedelta
from typing import Any

from must_gather_api.analysis import pods
from must_gather_api.analysis.model import Severity
from support.archives import NOW, TOP, files, listed


def pod(
    name: str, *, phase: str = "Running", created_ago: timedelta = timedelta(days=1), **status: Any
) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "app",
            "creationTimestamp": (NOW - created_ago).isoformat(),
        },
        "status": {"phase": phase, **status},
    }


def container(name: str, restarts: int = 0, **state: Any) -> dict[str, Any]:
    return {"name": name, "restartCount": restarts, **state}


CRASHING = pod(
    "web-1",
    containerStatuses=[
        container(
            "web",
            7,
            state={"waiting": {"reason": "CrashLoopBackOff"}},
            lastState={"terminated": {"exitCode": 2}},
        ),
        container("sidecar", state={"running": {}}),
    ],
)


def test_a_crash_looping_container_with_its_restarts_and_last_log_lines() -> None:
    log = "".join(f"2026-06-01T11:00:0{i}Z line {i}\n" for i in range(8))
    found = pods.analyze(
        files(
            {
                "namespaces/app/core/pods.yaml": listed("Pod", [CRASHING]),
                "namespaces/app/pods/web-1/web-1.yaml": CRASHING,
                "namespaces/app/pods/web-1/web/web/logs/current.log": log,
                "namespaces/app/pods/web-1/web/web/logs/previous.log": "2026 panic: boom\n",
                "namespaces/app/pods/web-1/sidecar/sidecar/logs/current.log": "fine\n",
            }
        ),
        NOW,
    )
    # The list and the pod's own file are two sources of one pod: merged later (run.py).
    assert {(f.object, f.reason) for f in found} == {("Pod/app/web-1", "CrashLoopBackOff")}
    first = found[0]
    assert first.severity is Severity.ERROR
    assert first.message == "container web: CrashLoopBackOff, 7 restarts (last exit code 2)"
    assert first.details == ("2026 panic: boom",)  # the previous run's log comes first
    assert f"{TOP}/namespaces/app/pods/web-1/web/web/logs/previous.log" in first.evidence
    assert not any("sidecar" in path for path in first.evidence)


def test_image_pulls_oom_kills_and_long_pending() -> None:
    found = pods.analyze(
        files(
            {
                "namespaces/app/core/pods.yaml": listed(
                    "Pod",
                    [
                        pod(
                            "pull",
                            phase="Pending",
                            containerStatuses=[
                                container("c", state={"waiting": {"reason": "ErrImagePull"}})
                            ],
                        ),
                        pod(
                            "oom",
                            containerStatuses=[
                                container(
                                    "c",
                                    3,
                                    state={"running": {}},
                                    lastState={"terminated": {"reason": "OOMKilled"}},
                                )
                            ],
                        ),
                        pod("stuck", phase="Pending", created_ago=timedelta(hours=2)),
                        pod("new", phase="Pending", created_ago=timedelta(minutes=1)),
                    ],
                ),
                # The Forklift image's layout of logs.
                "namespaces/app/logs/oom/current.log": "allocating\n",
            }
        ),
        NOW,
    )
    assert [(f.object, f.reason, f.severity) for f in found] == [
        ("Pod/app/pull", "ImagePullBackOff", Severity.ERROR),
        ("Pod/app/oom", "OOMKilled", Severity.ERROR),
        ("Pod/app/stuck", "Pending", Severity.WARNING),
    ]
    assert found[1].details == ("allocating",)
    assert found[2].message == "Pending for 120 minutes when gathered"

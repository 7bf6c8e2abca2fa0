"""The API calls the native executor makes, in order, against the sequence oc makes
(reference: oc-adm-must-gather.md §5), as kubesim's audit log records them."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesim.cluster import Cluster
from support.native import Lines, executor_for, job, leftovers

pytestmark = pytest.mark.timeout(120)

# §5, steps 1, 3, 4, 5, 7, 11 and 12; cleanup first lists the namespaces carrying the
# gathering's label (a retried create may have made a second one). Consecutive equal calls
# count once.
EXPECTED = [
    ("get", "image.openshift.io", "imagestreams", ""),  # 1: openshift/must-gather:latest
    ("get", "config.openshift.io", "clusterversions", ""),  # 3: the cluster summary
    ("list", "config.openshift.io", "clusteroperators", ""),
    ("create", "", "namespaces", ""),  # 4
    ("create", "rbac.authorization.k8s.io", "clusterrolebindings", ""),
    ("list", "", "nodes", ""),  # 5
    ("create", "", "pods", ""),  # 7
    ("get", "", "pods", ""),  # poll until gather runs
    ("get", "", "pods", "log"),  # follow
    ("get", "", "pods", ""),  # gather done?
    # Not oc's: the rest of the log, without following. A stream cut just before gather
    # ended leaves lines unread, and the last of them make error-reason.
    ("get", "", "pods", "log"),
    ("get", "", "pods", ""),  # its exit code; re-GET for the image ID
    ("get", "", "pods", "log"),  # gather.logs
    ("create", "", "pods", "exec"),  # tar
    ("list", "", "namespaces", ""),  # 11
    ("delete", "", "namespaces", ""),
    ("get", "config.openshift.io", "clusterversions", ""),  # 12: the summary again
    ("list", "config.openshift.io", "clusteroperators", ""),
]


@pytest.mark.asyncio
async def test_the_calls_follow_ocs_sequence(kubesim: Cluster, tmp_path: Path) -> None:
    executor = await executor_for(kubesim, tmp_path)
    before = len(kubesim.audit)
    outcome = await executor.run(job(tmp_path, images=()), Lines())
    assert outcome.succeeded, outcome.error_reason
    calls: list[tuple[str, str, str, str]] = []
    for record in kubesim.audit[before:]:
        if record.user != "kube:admin" or not record.resource:
            continue  # the gather pod's own calls, and /version keep-alives
        call = (record.verb, record.group, record.resource, record.subresource)
        if not calls or calls[-1] != call:
            calls.append(call)
    assert calls == EXPECTED
    assert leftovers(kubesim) == []

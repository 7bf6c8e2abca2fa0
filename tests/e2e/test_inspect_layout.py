"""The fallback inspect writes the files `oc adm inspect` would write for the seeded cluster.

The expected list is derived here, independently of the service's code, from openshift/oc at
commit 6b8e30c5b39aa742147846341a203905e04834f3:
- pkg/cli/admin/mustgather/mustgather.go (BackupGathering): two inspect runs into one
  ``inspect.local.<n>`` folder, clusterversion+clusteroperators, then
  namespace/openshift-cluster-version;
- pkg/cli/admin/inspect/inspect.go (RunContext, logTimestamp, gatherConfigResourceData):
  ``timestamp`` appended at the start and the end of each run; one list file per
  config.openshift.io resource, once, when the first clusteroperator is inspected;
- pkg/cli/admin/inspect/discovery.go: ``aggregated-discovery-api(s).yaml``;
- pkg/cli/admin/inspect/resource.go and util.go (InspectResource, dirPathForInfo,
  filenameForInfo, groupResourceToInfos): objects at ``<scope>/<group or core>/<resource>/
  <name>.yaml``, lists at ``<scope>/<group or core>/<resource>.yaml``, unserved types skipped;
- pkg/cli/admin/inspect/namespace.go (namespaceResourcesToCollect) and pod.go (current.log,
  previous.log only for a container that has a previous run);
- pkg/cli/admin/inspect/util.go (CreateEventFilterPage): ``event-filter.html``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim import kinds
from kubesim.cluster import Cluster
from kubesim.faults import ApiErrorRule
from support.native import Lines, executor_for, job

pytestmark = pytest.mark.timeout(120)

UNPULLABLE = "kubesim.local/must-gather-unpullable:latest"
# namespace.go: namespaceResourcesToCollect (the ``all`` category is expanded below).
OC_NAMESPACE_RESOURCES = (
    "configmaps",
    "egressfirewalls",
    "egressqoses",
    "events",
    "endpoints",
    "endpointslices",
    "networkpolicies",
    "persistentvolumeclaims",
    "poddisruptionbudgets",
    "secrets",
    "servicemonitors",
    "userdefinednetworks",
    "ingresses.networking.k8s.io",
)


def _folder(kind: kinds.Kind) -> str:
    return kind.group or "core"


def namespace_files(cluster: Cluster, served: tuple[kinds.Kind, ...], ns: str) -> set[str]:
    files = {f"namespaces/{ns}/{ns}.yaml"}
    for pod in cluster.store.list(kinds.PODS, namespace=ns):
        name = pod["metadata"]["name"]
        files.add(f"namespaces/{ns}/pods/{name}/{name}.yaml")
        restarts = {
            s["name"]: int(s.get("restartCount") or 0)
            for s in (pod.get("status") or {}).get("containerStatuses") or []
        }
        for container in pod["spec"]["containers"] + (pod["spec"].get("initContainers") or []):
            cname = container["name"]
            logs = f"namespaces/{ns}/pods/{name}/{cname}/{cname}/logs"
            files.add(f"{logs}/current.log")
            if restarts.get(cname, 0) > 0:
                files.add(f"{logs}/previous.log")
    listed = [k for k in served if "all" in k.categories]
    for wanted in OC_NAMESPACE_RESOURCES:
        resource, _, group = wanted.partition(".")
        matches = [k for k in served if k.plural == resource and (not group or k.group == group)]
        matches.sort(key=lambda k: k.group != "")
        listed.extend(matches[:1])
    files.update(f"namespaces/{ns}/{_folder(k)}/{k.plural}.yaml" for k in listed)
    return files


def oc_would_write(cluster: Cluster) -> set[str]:
    served = kinds.served_kinds(openshift=True)
    by_gr = {(k.group, k.plural): k for k in served}
    files = {"timestamp", "aggregated-discovery-api.yaml", "aggregated-discovery-apis.yaml"}
    files.add("event-filter.html")
    config = "cluster-scoped-resources/config.openshift.io"
    for version in cluster.store.list(kinds.CLUSTER_VERSIONS):
        files.add(f"{config}/clusterversions/{version['metadata']['name']}.yaml")
    operators = cluster.store.list(kinds.CLUSTER_OPERATORS)
    if operators:
        files.update(
            f"{config}/{k.plural}.yaml" for k in served if k.group.endswith("config.openshift.io")
        )
    namespaces = {"openshift-cluster-version"}
    for operator in operators:
        files.add(f"{config}/clusteroperators/{operator['metadata']['name']}.yaml")
        for ref in operator.get("status", {}).get("relatedObjects") or []:
            kind = by_gr.get((ref.get("group") or "", ref["resource"]))
            if kind is None:
                continue  # the server does not serve it: oc reports an error, writes nothing
            if kind is kinds.NAMESPACES:
                namespaces.add(ref["name"])
                continue
            scope = f"namespaces/{ref['namespace']}" if ref.get("namespace") else None
            prefix = scope or "cluster-scoped-resources"
            files.add(f"{prefix}/{_folder(kind)}/{kind.plural}/{ref['name']}.yaml")
    for ns in namespaces:
        files |= namespace_files(cluster, served, ns)
    return files


def written(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


async def run_fallback(cluster: Cluster, tmp_path: Path) -> tuple[Path, Lines, str]:
    executor = await executor_for(cluster, tmp_path)
    gathering = job(tmp_path, images=(UNPULLABLE,))
    output = Lines()
    outcome = await executor.run(gathering, output)
    [root] = sorted(gathering.work_dir.glob("inspect.local.*"))
    return root, output, outcome.error_reason


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.asyncio
async def test_the_fallback_writes_the_files_oc_would_write(
    kubesim: Cluster, tmp_path: Path
) -> None:
    root, _, _ = await run_fallback(kubesim, tmp_path)
    expected = oc_would_write(kubesim)
    assert written(root) == expected
    # The seeded cluster makes the comparison worth something.
    assert len(expected) > 60
    assert any(name.endswith("/previous.log") for name in expected) or not any(
        int(s.get("restartCount") or 0)
        for p in kubesim.store.list(kinds.PODS)
        for s in (p.get("status") or {}).get("containerStatuses") or []
    )


@pytest.mark.asyncio
async def test_timestamps_lists_and_masks_are_oc_s(kubesim: Cluster, tmp_path: Path) -> None:
    root, output, reason = await run_fallback(kubesim, tmp_path)
    # Two runs, each stamped at its start and its end, in Go's time.Now() form (with the
    # monotonic reading: oc's inspect runs in oc's process).
    stamps = (root / "timestamp").read_text().splitlines()
    assert len(stamps) == 4
    assert all(re.fullmatch(r"\S+ \S+ \+0000 UTC m=\+\d+\.\d{9}", line) for line in stamps), stamps
    operators = load(root / "cluster-scoped-resources/config.openshift.io/clusteroperators.yaml")
    names = sorted(o["metadata"]["name"] for o in operators["items"])
    assert names == sorted(
        o["metadata"]["name"] for o in kubesim.store.list(kinds.CLUSTER_OPERATORS)
    )
    assert {o["kind"] for o in operators["items"]} == {"ClusterOperator"}
    discovery = load(root / "aggregated-discovery-apis.yaml")
    assert discovery["kind"] == "APIGroupDiscoveryList"
    assert "config.openshift.io" in {g["metadata"]["name"] for g in discovery["items"]}
    pods = load(root / "namespaces/openshift-cluster-version/core/pods.yaml")
    cluster_pods = kubesim.store.list(kinds.PODS, namespace="openshift-cluster-version")
    assert len(pods["items"]) == len(cluster_pods) > 0
    # Related objects the server does not serve are errors said in the output and the reason.
    unserved = [line for line in output.lines if "error: skipping" in line]
    assert unserved and f"with {len(unserved)} errors" in reason


@pytest.mark.asyncio
async def test_a_failing_list_is_reported_not_dropped(kubesim: Cluster, tmp_path: Path) -> None:
    # Refused (403 is not retried).
    rule = ApiErrorRule(status=403, path="/namespaces/openshift-cluster-version/configmaps$")
    kubesim.faults.api_errors.append(rule)
    root, output, reason = await run_fallback(kubesim, tmp_path)
    assert not (root / "namespaces/openshift-cluster-version/core/configmaps.yaml").exists()
    failed = [
        line for line in output.lines if "list configmaps in openshift-cluster-version" in line
    ]
    assert failed, output.text
    assert "errors" in reason
    logs = (root.parent / "must-gather.logs").read_text()
    assert "list configmaps in openshift-cluster-version" in logs


@pytest.mark.asyncio
async def test_without_aggregated_discovery_legacy_discovery_finds_the_same_types(
    kubesim: Cluster, tmp_path: Path
) -> None:
    # Aggregated discovery of /api is refused: the inspect says so, writes no
    # aggregated-discovery-api.yaml, and reads the groups the old way (as it does on an API
    # server older than aggregated discovery).
    kubesim.faults.api_errors.append(ApiErrorRule(status=403, path="^/api$"))
    root, output, _ = await run_fallback(kubesim, tmp_path)
    assert written(root) == oc_would_write(kubesim) - {"aggregated-discovery-api.yaml"}
    assert any("cannot read discovery /api:" in line for line in output.lines), output.text
    assert not (root / "aggregated-discovery-api.yaml").exists()

"""oc's cluster summary in a gathering against kubesim: printed at the start and at the end
(with what changed) into the output and into ``must-gather.logs``; on plain Kubernetes it
says what it could not read, and the gathering still succeeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesim import kinds
from kubesim.cluster import Cluster
from kubesim.faults import ApiErrorRule
from kubesim.pytest_plugin import ClusterFactory
from kubesim.seed.openshift import CLUSTER_ID, OPENSHIFT_VERSION
from must_gather_api.executors.kubernetes import cluster_summary as summary
from support.native import Lines, executor_for, job, leftovers

pytestmark = pytest.mark.timeout(120)


class DegradingOnFirstSummary(Lines):
    """Output that degrades the dns operator once the first summary is printed, so the end
    reads another state than the start."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__()
        self.cluster = cluster
        self.degraded = False

    def line(self, text: str) -> None:
        super().line(text)
        if text == "ClusterOperators:" and not self.degraded:
            self.degraded = True
            dns = self.cluster.store.get(kinds.CLUSTER_OPERATORS, "dns")
            for condition in dns["status"]["conditions"]:
                if condition["type"] == "Degraded":
                    condition.update(status="True", message="DNS pods crash-loop")
            self.cluster.store.replace(kinds.CLUSTER_OPERATORS, dns)


def raw_block(lines: list[str], start: int) -> list[str]:
    """The summary that begins at ``start``: up to its two blank lines."""
    end = start
    while lines[end : end + 2] != ["", ""]:
        end += 1
    return lines[start:end]


@pytest.mark.asyncio
async def test_an_openshift_gathering_prints_the_summary_twice_and_the_change(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path)
    output = DegradingOnFirstSummary(kubesim)
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, outcome.error_reason

    for lines in (output.lines, (gathering.work_dir / "must-gather.logs").read_text().split("\n")):
        starts = [i for i, line in enumerate(lines) if line == summary.HEADER]
        assert len(starts) == 2
        first, second = (raw_block(lines, i) for i in starts)
        assert first[1:4] == [
            f"ClusterID: {CLUSTER_ID}",
            f"ClientVersion: {summary.client_version()}",
            f'ClusterVersion: Stable at "{OPENSHIFT_VERSION}"',
        ]
        degraded = (
            "\tclusteroperator/image-registry is degraded because "
            "Degraded: The deployment does not have available replicas"
        )
        assert degraded in first and degraded in second
        dns = "\tclusteroperator/dns is degraded because DNS pods crash-loop"
        assert dns not in first and dns in second
        # The seed has 6 of the 25 long-existing operators: the other 19 are missing.
        assert sum(line.endswith(" is missing") for line in first) == 19
        assert lines[starts[1] - 1] == summary.REPRINT
        changes = lines.index(summary.CHANGES)
        assert lines[changes + 1 : changes + 3] == [
            "\tclusteroperator/dns: healthy and stable -> is degraded because DNS pods crash-loop",
            "",
        ]
        # The start comes after the images are chosen; the end after the namespace is gone.
        using = next(i for i, line in enumerate(lines) if "plug-in image" in line)
        deleted = next(i for i, line in enumerate(lines) if line.endswith(" deleted"))
        assert using < starts[0] < deleted < starts[1]
    # Both readings: a get of the ClusterVersion and a list of the ClusterOperators each.
    reads = [
        (r.verb, r.resource)
        for r in kubesim.audit
        if r.group == "config.openshift.io" and r.user == "kube:admin"
    ]
    assert reads == [("get", "clusterversions"), ("list", "clusteroperators")] * 2
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_plain_kubernetes_says_what_it_could_not_read_and_succeeds(
    kubesim_factory: ClusterFactory, tmp_path: Path
) -> None:
    cluster: Cluster = await kubesim_factory(openshift=False)
    executor = await executor_for(cluster, tmp_path)
    gathering = job(tmp_path)
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, outcome.error_reason

    logs = (gathering.work_dir / "must-gather.logs").read_text().split("\n")
    for lines in (output.lines, logs):
        starts = [i for i, line in enumerate(lines) if line == summary.HEADER]
        assert len(starts) == 2
        for start in starts:
            block = raw_block(lines, start)
            assert block[1].startswith("error getting cluster version: cannot read ")
            assert "404" in block[1]
            assert block[2:5] == [
                "ClusterID: <unknown>",
                f"ClientVersion: {summary.client_version()}",
                "ClusterVersion: could not be read",
            ]
            assert block[5].startswith("error getting cluster operators: cannot list ")
            assert block[6:] == ["ClusterOperators:", "\tclusteroperators could not be read"]
        changes = lines.index(summary.CHANGES)
        assert lines[changes + 1 : changes + 3] == [
            "\tClusterVersion: not compared, it could not be read both times",
            "\tClusterOperators: not compared, they could not be read both times",
        ]
    assert leftovers(cluster) == []


@pytest.mark.asyncio
async def test_reads_that_fail_are_lines_and_the_gathering_succeeds(
    kubesim: Cluster, tmp_path: Path
) -> None:
    kubesim.faults.api_errors += [
        ApiErrorRule(status=403, path="/clusterversions/version$"),
        ApiErrorRule(status=503, path="/clusteroperators$"),
    ]
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path)
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, outcome.error_reason

    starts = [i for i, line in enumerate(output.lines) if line == summary.HEADER]
    assert len(starts) == 2
    for start in starts:
        block = raw_block(output.lines, start)
        assert block[1].startswith("error getting cluster version: cannot read ")
        assert "403" in block[1]
        assert block[5].startswith("error getting cluster operators: cannot list ")
        assert "503" in block[5]
        assert block[-1] == "\tclusteroperators could not be read"
    assert leftovers(kubesim) == []

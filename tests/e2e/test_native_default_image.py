"""The native executor runs OpenShift's default must-gather image against kubesim."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesim.cluster import Cluster
from support.native import Lines, executor_for, image_dirs, job, leftovers

pytestmark = pytest.mark.timeout(120)


@pytest.mark.asyncio
async def test_the_default_image_completes_with_ocs_tree(kubesim: Cluster, tmp_path: Path) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path)
    output = Lines()

    outcome = await executor.run(gathering, output)

    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    work = gathering.work_dir
    assert {"must-gather.logs", "timestamp", "event-filter.html"} <= {
        p.name for p in work.iterdir()
    }
    [image_dir] = image_dirs(work)
    assert image_dir.name.startswith("quay-io-openshift-origin-must-gather-sha256-")
    assert (image_dir / "gather.logs").read_text().strip()
    assert (image_dir / "version").read_text().startswith("openshift/must-gather\n")
    assert (image_dir / "cluster-scoped-resources/core/nodes/master-0.yaml").is_file()
    assert len((work / "timestamp").read_text().splitlines()) == 2
    page = (work / "event-filter.html").read_text()
    assert "<script src" not in page and "http://" not in page and "https://" not in page
    assert "FailedScheduling" in page or "<tr" in page
    text = output.text
    assert "[must-gather      ] OUT " in text
    assert "Using must-gather plug-in image: quay.io/openshift/origin-must-gather:latest" in text
    assert " POD " in text
    logs = (work / "must-gather.logs").read_text()
    assert "namespace/openshift-must-gather-" in logs and " POD " not in logs
    assert leftovers(kubesim) == []

"""The archive readers support engineers use, run on a gathering's tree: ``omg``
(o-must-gather), must-gather-parser and insights-core's OpenShift component (given the
packed archive itself), from their own virtual environment (``make readers``; their pins
clash with the service's)."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

READERS_BIN = Path(__file__).resolve().parents[2] / ".venv-readers" / "bin"
_TIMEOUT = 60.0

# must-gather-parser is a library: this script, run by the readers' python, lists what the
# tests ask for and prints it as JSON.
_PARSER_SCRIPT = """
import asyncio, json, sys
from must_gather_parser import MustGather

WANTED = [
    ("pods", "", True), ("clusteroperators", "config.openshift.io", False),
    ("clusterversions", "config.openshift.io", False), ("nodes", "", False),
    ("events", "", True),
]

async def main(path, namespace, pod, container):
    mg = MustGather()
    try:
        await mg.use(path)
        found = {}
        for plural, group, namespaced in WANTED:
            listed = await mg.get_resources(
                plural, group, all_namespaces=True, namespaced=namespaced
            )
            found[plural] = sorted(
                (i["metadata"].get("namespace") or "") + "/" + i["metadata"]["name"]
                for i in listed["items"]
            )
        found["log"] = [line async for line in mg.logs_pod(namespace, pod, container)]
    finally:
        mg.close()
    print(json.dumps(found))

asyncio.run(main(*sys.argv[1:5]))
"""


# insights-core's ``insights.ocp.analyze`` opens a must-gather archive (or folder) and
# queries every YAML document in it; the names of each kind, from lists and single objects.
_INSIGHTS_SCRIPT = """
import json, sys
from insights import ocp

conf = ocp.analyze(sys.argv[1])

def names(kind):
    found = set()
    metadata = [item.metadata for doc in conf.where("kind", kind + "List") for item in doc.items]
    metadata += [doc.metadata for doc in conf.where("kind", kind)]
    for md in metadata:
        if md.name.value is not None:
            found.add((md.namespace.value or "") + "/" + md.name.value)
    return sorted(found)

print(json.dumps({k: names(k) for k in ("Pod", "ClusterOperator", "ClusterVersion", "Node")}))
"""


def require_readers() -> None:
    for tool in ("omg", "python"):
        if not (READERS_BIN / tool).exists():
            pytest.skip(f"{READERS_BIN / tool} is missing: `make readers` installs the readers")


async def _run(*args: str, home: Path) -> str:
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    process = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=str(home),
    )
    try:
        async with asyncio.timeout(_TIMEOUT):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, (args, out.decode(), err.decode())
    return out.decode()


class Omg:
    """``omg`` with its own HOME (it keeps the chosen must-gather in ``~/.omgconfig``)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)

    async def use(self, tree: Path) -> str:
        return await self.run("use", str(tree))

    async def run(self, *args: str) -> str:
        return await _run(str(READERS_BIN / "omg"), *args, home=self.home)

    async def table(self, *args: str) -> list[dict[str, str]]:
        """``omg get ...`` as rows keyed by the header's columns ([] for no resources)."""
        text = await self.run("get", *args)
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines or lines[0].startswith("No resources found"):
            return []
        header = re.split(r"\s{2,}", lines[0].strip())
        return [
            dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=False)) for line in lines[1:]
        ]


async def parse(tree: Path, home: Path, *, namespace: str, pod: str, container: str) -> Any:
    """What must-gather-parser finds in ``tree``: names per type and one container's log."""
    out = await _run(
        str(READERS_BIN / "python"),
        "-c",
        _PARSER_SCRIPT,
        str(tree),
        namespace,
        pod,
        container,
        home=home,
    )
    return json.loads(out)


async def insights(archive: Path, home: Path) -> Any:
    """What insights-core's OpenShift component finds in ``archive``: names per kind."""
    return json.loads(
        await _run(str(READERS_BIN / "python"), "-c", _INSIGHTS_SCRIPT, str(archive), home=home)
    )

"""`must-gather-api demo` as a new user meets it: the README's lines give a real archive."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import tarfile
from pathlib import Path

import pytest

from kubesim.pytest_plugin import kubectl_binary
from support.service import free_port

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]

README = Path(__file__).resolve().parents[2] / "README.md"


def quick_start_lines() -> list[str]:
    """The shell lines of the README's demo quick start, continuation lines joined."""
    section = README.read_text().split("## Quick start with the demo", 1)[1]
    blocks = re.findall(r"```sh\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    lines: list[str] = []
    for block in blocks:
        lines += block.replace("\\\n", " ").splitlines()
    return [line.split("  #", 1)[0].strip() for line in lines if line.strip()]


async def shell(line: str, *, cwd: Path, port: int, tls_port: int = 0) -> str:
    line = line.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    line = line.replace("127.0.0.1:8443", f"127.0.0.1:{tls_port}")
    cwd.mkdir(exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        f"TOKEN=admin-token; {line}",
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, f"{line}: {err.decode()}"
    return out.decode()


async def test_make_demo_and_the_readme_lines_give_real_archives(tmp_path: Path) -> None:
    port, tls_port = free_port(), free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as output:
        demo = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "must_gather_api",
            "demo",
            "--port",
            str(port),
            "--tls-port",
            str(tls_port),
            "--state-dir",
            str(tmp_path / "state"),
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "HOME": str(tmp_path)},
        )
        try:
            for _ in range(600):
                if "Stop with Ctrl-C" in log.read_text():
                    break
                assert demo.returncode is None, log.read_text()
                await asyncio.sleep(0.05)  # the demo's own process: its banner is the signal
            banner = log.read_text()
            assert f"http://127.0.0.1:{port}" in banner
            assert "export KUBECONFIG=" in banner
            assert f"http://127.0.0.1:{port}/ui/" in banner

            lines = quick_start_lines()
            posts = [line for line in lines if "-d '" in line]
            assert len(posts) == 2
            created = [json.loads(await shell(line, cwd=tmp_path, port=port)) for line in posts]
            for gathering in created:
                body = await wait_for_end(gathering["id"], cwd=tmp_path, port=port)
                assert body["status"] == "completed", body
            download = next(line for line in lines if "-OJ" in line)
            await shell(download, cwd=tmp_path, port=port)
            listing = next(line for line in lines if line.startswith("tar tzf"))
            assert "must-gather/event-filter.html" in await shell(listing, cwd=tmp_path, port=port)
            by_name = next(line for line in lines if "/must-gather/plan:" in line)
            targeted = json.loads(await shell(by_name, cwd=tmp_path, port=port))
            assert targeted["archive-name"] == "must-gather-plan_prod-cold-migration.tar.gz"
            await shell(
                download.replace("/must-gather/1/", "/must-gather/2/"), cwd=tmp_path, port=port
            )
            with tarfile.open(tmp_path / targeted["archive-name"]) as tar:
                assert any("crs/plan/prod-cold-migration.yaml" in n for n in tar.getnames())
            await read_on_the_server(lines, cwd=tmp_path, port=port, tls_port=tls_port)
            await read_the_crashed_pods_core(banner, cwd=tmp_path / "cores", port=port)
        finally:
            demo.send_signal(signal.SIGINT)
            code = await asyncio.wait_for(demo.wait(), 60)
    assert code == 0, log.read_text()


async def read_on_the_server(lines: list[str], *, cwd: Path, port: int, tls_port: int) -> None:
    """The README's lines that read gathering 1 on the server name the demo's faults."""
    files_line = next(line for line in lines if "/files?" in line)
    listed = json.loads(await shell(files_line, cwd=cwd, port=port))
    assert 0 < len(listed["items"]) <= 20 < listed["total"]
    summary_line = next(line for line in lines if line.endswith("/summary"))
    summary = json.loads(await shell(summary_line, cwd=cwd, port=port))
    objects = {f["object"] for f in summary["findings"] if f["severity"] == "error"}
    assert {"Node/worker-2", "ClusterOperator/authentication"} <= objects, summary
    cli_line = next(line for line in lines if line.startswith("must-gather-api summary"))
    command = cli_line.replace("must-gather-api", f"{sys.executable} -m must_gather_api", 1)
    table = await shell(command, cwd=cwd, port=port)
    assert "NotReady" in table and "CrashLoopBackOff" in table and "in 10 days" in table, table
    config_line = next(line for line in lines if line.startswith("must-gather-api kubeconfig"))
    command = config_line.replace("must-gather-api", f"{sys.executable} -m must_gather_api", 1)
    await shell(command, cwd=cwd, port=port, tls_port=tls_port)
    kubectl_line = next(line for line in lines if line.startswith("kubectl --kubeconfig"))
    if kubectl_binary() is not None:
        pods = await shell(kubectl_line, cwd=cwd, port=port)
        assert "CrashLoopBackOff" in pods and pods.startswith("NAMESPACE"), pods


def core_lines(banner: str) -> list[str]:
    """The banner's core dump lines: the CLI's, then koredump's README curl lines."""
    section = banner.split("# core dumps:", 1)[1].split("\n\n", 1)[0]
    lines = [line.split("  #", 1)[0].strip() for line in section.splitlines()[1:]]
    return [line for line in lines if line and not line.startswith("#")]


async def read_the_crashed_pods_core(banner: str, *, cwd: Path, port: int) -> None:
    """The demo's crashed pod is in `cores list`, `cores get -1` saves its core, and
    koredump's README lines list, describe and download the same core."""
    cwd.mkdir()
    lines = core_lines(banner)
    assert len(lines) == 6, lines
    cli = f"{sys.executable} -m must_gather_api"
    listed = await shell(lines[0].replace("must-gather-api", cli, 1), cwd=cwd, port=port)
    assert listed.count("- ID: core.") == 1, listed
    assert "Pod: crasher" in listed and "Signal: SIGSEGV (11)" in listed, listed
    saved = (await shell(lines[1].replace("must-gather-api", cli, 1), cwd=cwd, port=port)).split()
    [core] = [cwd / Path(p).name for p in saved if p.endswith(".zst")]
    assert (core.stat().st_mode & 0o777) == 0o600

    export, *curls = lines[2:]
    assert export.startswith("export token=") and f" id={core.name}" in export
    assert len(curls) == 3 and all(line.startswith("curl -f") for line in curls)
    answers = [await shell(f"{export}; {line}", cwd=cwd / "curl", port=port) for line in curls]
    [shown] = json.loads(answers[0])
    assert (shown["pod"], shown["namespace"], shown["id"]) == ("crasher", "default", core.name)
    assert json.loads(answers[1]) == shown
    assert (cwd / "curl" / core.name).read_bytes() == core.read_bytes()
    assert not [a for a in [listed, *answers] if "demo-password" in a]


async def wait_for_end(gathering_id: int, *, cwd: Path, port: int) -> dict[str, object]:
    line = f'curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/must-gather/{gathering_id}'
    for _ in range(600):
        body: dict[str, object] = json.loads(await shell(line, cwd=cwd, port=port))
        if body["status"] in ("completed", "error"):
            return body
        await asyncio.sleep(0.1)  # polling, as a user (and the UIs) do
    raise AssertionError(f"gathering {gathering_id} never ended")

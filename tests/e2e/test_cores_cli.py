"""`must-gather-api cores list|get|status` against the served app and kubesim."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
import zstandard

from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from support.cores import SECRET, core_files, crash, provision, service_settings
from support.service import make_settings, served_app
from support.terminal import WIDTH, Terminal

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]

CLI = [sys.executable, "-m", "must_gather_api", "cores"]
KOREDUMPCTL = [str(Path(sys.executable).parent / "koredumpctl")]


async def cli(url: str, home: Path, *args: str, program: list[str] = CLI) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *program,
        *args,
        env={"PATH": os.environ["PATH"], "HOME": str(home), "MUST_GATHER_API_URL": url},
        cwd=home,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_koredumpctl_commands(kubesim: Cluster, tmp_path: Path) -> None:
    await crash(kubesim, "default", "crasher-a", "worker-0")
    await crash(kubesim, "migration-demo", "crasher-b", "worker-1")
    home = tmp_path / "home"
    home.mkdir()
    kubeconfig = provision(kubesim, tmp_path)
    settings = make_settings(tmp_path, **service_settings(kubeconfig))
    async with served_app(settings, executor=None) as url:
        token = ("--token", ADMIN_TOKEN)
        code, out, err = await cli(url, home, "list", "-o", "json", *token)
        assert code == 0, err
        listed = json.loads(out)
        assert [c["pod"] for c in listed] == ["crasher-a", "crasher-b"]
        assert SECRET not in out

        code, out, _ = await cli(
            url, home, "list", "-n", "migration-demo", "--pod", "crasher-b", "-o", "json", *token
        )
        assert [c["pod"] for c in json.loads(out)] == ["crasher-b"]

        code, out, err = await cli(url, home, "list", *token)
        assert code == 0, err
        assert out.count("- ID: core.") == 2
        assert "  Namespace: migration-demo" in out
        assert "  Signal: SIGSEGV (11)" in out

        code, out, err = await cli(url, home, "list", "-n", "nope", *token)
        assert (code, out, err.strip()) == (0, "", "Nothing found.")

        code, out, err = await cli(url, home, "get", "-1", "-d", *token)
        assert code == 0, err
        newest = listed[-1]
        core = home / newest["id"]
        on_disk = core_files(kubesim, "worker-1")[0].read_bytes()
        assert core.read_bytes() == on_disk
        plain = home / newest["id"].removesuffix(".zst")
        assert plain.read_bytes() == zstandard.ZstdDecompressor().decompressobj().decompress(
            on_disk
        )
        meta = json.loads((home / (newest["id"].removesuffix(".zst") + ".json")).read_text())
        assert meta["pod"] == "crasher-b"
        for path in (core, plain):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600

        code, out, err = await cli(url, home, "status", "-o", "json", *token)
        assert code == 0, err
        assert json.loads(out)["cores"] == 2

        code, _, err = await cli(url, home, "list", "--token", "user-token")
        assert code == 3
        assert "not allowed" in err

        # koredump's e2e script's calls, options before or after the subcommand
        koredumpctl = {"program": KOREDUMPCTL}
        code, out, err = await cli(url, home, f"--token={ADMIN_TOKEN}", "status", **koredumpctl)
        assert code == 0, err
        assert "Cores: 2" in out
        code, out, err = await cli(
            url,
            home,
            "list",
            "-n",
            "default",
            "--pod",
            "crasher-a",
            "-o",
            "json",
            *token,
            **koredumpctl,
        )
        assert code == 0, err
        assert [c["pod"] for c in json.loads(out)] == ["crasher-a"]
        elsewhere = home / "again"
        elsewhere.mkdir()
        code, out, err = await cli(url, elsewhere, "-1", "get", *token, **koredumpctl)
        assert code == 0, err
        assert (elsewhere / newest["id"]).read_bytes() == on_disk


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
async def test_list_and_get_in_a_terminal(kubesim: Cluster, tmp_path: Path) -> None:
    """What a person sees: koredumpctl's blocks, and one whole progress line per file saved."""
    await crash(kubesim, "default", "crasher-a", "worker-0")
    home = tmp_path / "home"
    home.mkdir()
    kubeconfig = provision(kubesim, tmp_path)
    settings = make_settings(tmp_path, **service_settings(kubeconfig))
    async with served_app(settings, executor=None) as url:

        async def shown(name: str, *args: str) -> str:
            terminal = Terminal(
                tmp_path / f"{name}.sock",
                home,
                {
                    "PATH": os.environ["PATH"],
                    "HOME": str(home),
                    "TERM": "xterm-256color",
                    "MUST_GATHER_API_URL": url,
                },
            )
            try:
                await terminal.start("cores", *args, "--token", ADMIN_TOKEN)
                return await terminal.wait_for("EXIT=")
            finally:
                await terminal.tmux("kill-server", check=False)

        listed = await shown("list", "list")
        assert "EXIT=0" in listed, listed
        assert listed.count("- ID: core.") == 1
        assert "  Pod: crasher-a" in listed.splitlines()
        screen = await shown("get", "get", "-1", "-d")
    lines = screen.splitlines()
    assert "EXIT=0" in lines, screen
    core = core_files(kubesim, "worker-0")[0]
    plain = core.name.removesuffix(".zst")
    bars = [line for line in lines if line.startswith("core.crash") and "iB" in line]
    # One whole line per file, the core's then the decompressed one's, its name's middle cut.
    assert len(bars) == 2, screen
    assert all(len(line) <= WIDTH and "/s" in line for line in bars), screen
    names = [line.split()[0] for line in bars]
    assert names[0].endswith(".zst") and "…" in names[0], screen
    assert not names[1].endswith(".zst") and names[1][-8:] == plain[-8:], screen
    assert lines.count(core.name) == 1 and lines.count(plain) == 1
    assert (home / core.name).read_bytes() == core.read_bytes()

"""1. Download: a 2 GiB archive from ``GET /must-gather/{id}/data`` against nginx serving
the same file with sendfile, with the same client (curl), alternating runs, two ways:

- *direct*: granian sends the file (pathsend);
- *offloaded*: the service behind nginx with ACCEL_REDIRECT_PREFIX, as docs/deploying.md
  configures it: the service answers with X-Accel-Redirect and nginx sends the file.

CPU per GiB served is the CPU time (user + system) of the serving processes (the service's
process tree, and nginx) over the downloads, divided by the GiB sent; the peer's is nginx's
alone. Also: the service's peak RSS after a 256 MiB and after a 2 GiB download (flat is the
goal), and a Range request that resumes each way, checked byte for byte.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import records, serving
from bench.cpu import process_seconds
from bench.reporting import MIB, ratio, summary
from bench.tools import ensure_debian_tool

CURL = "/usr/bin/curl"
NGINX = "/usr/sbin/nginx"
NGINX_CONFIG = """
daemon off;
master_process off;
user root;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
{offload}
    }}
}}
"""
# The service behind nginx as deploy/components/download-proxy puts it (without TLS).
OFFLOAD = """
        location /must-gather/ {{
            proxy_pass {upstream};
            proxy_http_version 1.1;
            proxy_buffering off;
        }}
        location /_data/ {{
            internal;
            alias {data_dir}/;
        }}
"""
GIB = 1 << 30


async def ensure_nginx() -> str | None:
    """None when nginx can be used; otherwise why not."""
    return await ensure_debian_tool(NGINX, "nginx-light")


async def start_nginx(
    directory: Path, file: Path, *, upstream: str = "", data_dir: Path | None = None
) -> tuple[asyncio.subprocess.Process, str]:
    """nginx serving ``file`` at /archive and, given ``upstream``, proxying /must-gather/
    to it with ``data_dir`` at the internal /_data/ location."""
    (directory / "www").mkdir(parents=True)
    (directory / "tmp").mkdir()
    os.link(file, directory / "www" / "archive")  # the same inode: the same page cache
    port = serving.free_port()
    config = directory / "nginx.conf"
    config.write_text(
        NGINX_CONFIG.format(
            dir=directory,
            port=port,
            offload=OFFLOAD.format(upstream=upstream, data_dir=data_dir) if upstream else "",
        )
    )
    process = await asyncio.create_subprocess_exec(
        NGINX, "-c", str(config), "-e", str(directory / "error.log")
    )
    url = f"http://127.0.0.1:{port}/archive"
    async with aiohttp.ClientSession() as session:
        for _ in range(500):
            try:
                async with session.head(url) as response:
                    if response.status == 200:
                        return process, url
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.01)
    process.terminate()
    raise RuntimeError("nginx did not start")


async def curl(url: str) -> tuple[int, float]:
    """Bytes and seconds of one download to /dev/null."""
    process = await asyncio.create_subprocess_exec(
        *(CURL, "-s", "-f", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", url),
        stdout=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(300):
        out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"curl {url} failed with {process.returncode}")
    size, seconds = out.decode().split()
    return int(size), float(seconds)


def _sha_from(path: Path, offset: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        file.seek(offset)
        while chunk := file.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


async def resumes(url: str, path: Path, offset: int) -> dict[str, Any]:
    """A ``Range: bytes=offset-`` request: status, Content-Range, and the bytes checked."""
    digest = hashlib.sha256()
    received = 0
    timeout = aiohttp.ClientTimeout(total=300)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, headers={"Range": f"bytes={offset}-"}) as response,
    ):
        async for chunk in response.content.iter_chunked(MIB):
            digest.update(chunk)
            received += len(chunk)
        status, content_range = response.status, response.headers.get("content-range", "")
    size = (await asyncio.to_thread(path.stat)).st_size
    expected = await asyncio.to_thread(_sha_from, path, offset)
    return {
        "offset": offset,
        "status": status,
        "content_range": content_range,
        "received_bytes": received,
        "correct": status == 206
        and received == size - offset
        and content_range == f"bytes {offset}-{size - 1}/{size}"
        and digest.hexdigest() == expected,
    }


@dataclass
class Way:
    """One way of serving the archive: its URL, the processes that do it, what it did."""

    url: str
    pids: list[int]
    mb_per_s: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    bytes_sent: int = 0

    async def download(self) -> None:
        before = process_seconds(self.pids)
        size, seconds = await curl(self.url)
        self.cpu_seconds += process_seconds(self.pids) - before
        self.bytes_sent += size
        self.mb_per_s.append(size / seconds / 1e6)

    def cpu_per_gib(self) -> float | None:
        return round(self.cpu_seconds / (self.bytes_sent / GIB), 3) if self.bytes_sent else None


async def run(work: Path, *, quick: bool) -> dict[str, Any]:
    large = (512 if quick else 2048) * MIB
    small = 256 * MIB
    runs = 3 if quick else 5
    state = work / "download"
    small_id = await records.archived(state, small)
    large_id = await records.archived(state, large)
    archive = state / "data" / "gatherings" / str(large_id) / "archive"
    small_archive = state / "data" / "gatherings" / str(small_id) / "archive"
    why_no_nginx = await ensure_nginx()
    result: dict[str, Any] = {"sizes": {"large_bytes": large, "small_bytes": small}, "runs": runs}
    async with (
        serving.running(state) as service,
        serving.running(state, ACCEL_REDIRECT_PREFIX="/_data/") as offloading,
    ):
        base = f"{service.url}/must-gather"
        idle_rss = service.peak_rss_bytes()
        service.reset_peak()
        await curl(f"{base}/{small_id}/data")
        small_rss = service.peak_rss_bytes()
        service.reset_peak()
        await curl(f"{base}/{large_id}/data")
        large_rss = service.peak_rss_bytes()
        result["peak_rss_bytes"] = {
            "after_start": idle_rss,
            "download_256MiB": small_rss,
            f"download_{large // MIB}MiB": large_rss,
            "growth_ratio": ratio(large_rss, small_rss),
        }
        result["range"] = [
            await resumes(f"{base}/{small_id}/data", small_archive, small // 3 + 7),
            await resumes(f"{base}/{large_id}/data", archive, large - 100 * MIB + 12345),
        ]
        direct = Way(f"{base}/{large_id}/data", [service.process.pid])
        offloaded: Way | None = None
        peer: Way | None = None
        nginx: asyncio.subprocess.Process | None = None
        if why_no_nginx is None:
            nginx, url = await start_nginx(
                work / "nginx", archive, upstream=offloading.url, data_dir=state / "data"
            )
            offloaded = Way(
                f"{url.removesuffix('/archive')}/must-gather/{large_id}/data",
                [offloading.process.pid, nginx.pid],
            )
            peer = Way(url, [nginx.pid])
        try:
            if offloaded is not None:
                result["range"].append(
                    await resumes(offloaded.url, archive, large - 100 * MIB + 4321)
                )
            for _ in range(runs):
                for way in (direct, offloaded, peer):
                    if way is not None:
                        await way.download()
        finally:
            if nginx is not None:
                nginx.terminate()
                await nginx.wait()
    result["service_mb_per_s"] = summary(direct.mb_per_s, digits=1)
    result["service_cpu_seconds_per_gib"] = direct.cpu_per_gib()
    if offloaded is not None and peer is not None:
        result["offloaded_mb_per_s"] = summary(offloaded.mb_per_s, digits=1)
        result["offloaded_cpu_seconds_per_gib"] = offloaded.cpu_per_gib()
        result["nginx_mb_per_s"] = summary(peer.mb_per_s, digits=1)
        result["nginx_cpu_seconds_per_gib"] = peer.cpu_per_gib()
        peer_median = result["nginx_mb_per_s"]["median"]
        result["ratio_direct"] = ratio(result["service_mb_per_s"]["median"], peer_median)
        result["ratio"] = ratio(result["offloaded_mb_per_s"]["median"], peer_median)
        result["cpu_ratio"] = ratio(offloaded.cpu_per_gib(), peer.cpu_per_gib())
    else:
        result["nginx_mb_per_s"] = {"skipped": why_no_nginx}
        result["ratio"] = None
        result["cpu_ratio"] = None
    result["goal"] = (
        "offloaded >= 0.9 x nginx sendfile; CPU per GiB <= 2 x nginx's; peak RSS flat; "
        "Range resumes"
    )
    result["met"] = bool(
        result["ratio"] is not None
        and result["ratio"] >= 0.9
        and result["cpu_ratio"] is not None
        and result["cpu_ratio"] <= 2.0
        and all(r["correct"] for r in result["range"])
        and large_rss <= small_rss * 1.1 + 8 * MIB
    )
    return result


def row(result: dict[str, Any]) -> list[str]:
    rss = result["peak_rss_bytes"]
    large_mib = result["sizes"]["large_bytes"] // MIB
    offloaded = result.get("offloaded_mb_per_s", {}).get("median", "skipped")
    return [
        "download",
        f"offloaded {offloaded} MB/s ({result.get('offloaded_cpu_seconds_per_gib')} CPU s/GiB); "
        f"direct {result['service_mb_per_s']['median']} MB/s",
        f"{result['nginx_mb_per_s'].get('median', 'skipped')} MB/s "
        f"({result.get('nginx_cpu_seconds_per_gib')} CPU s/GiB) (nginx)",
        f"{result['ratio']} (CPU {result['cpu_ratio']})",
        f"peak RSS {rss['download_256MiB'] // MIB} / {rss[f'download_{large_mib}MiB'] // MIB} MiB",
        "yes" if result["met"] else "no",
    ]

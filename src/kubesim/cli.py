"""``kubesim serve``: run a simulated cluster until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
from pathlib import Path

from kubesim.auth import ADMIN_TOKEN, USER_TOKEN
from kubesim.cluster import Cluster, ClusterOptions
from kubesim.errors import KubesimError

log = logging.getLogger("kubesim")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubesim", description="A simulated Kubernetes cluster.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start a cluster and serve until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=6443, help="HTTPS port (0 = any free port)")
    serve.add_argument("--plain-http-port", type=int, default=None, help="also serve plain HTTP")
    serve.add_argument("--kubeconfig-out", type=Path, default=None, help="write a kubeconfig here")
    serve.add_argument("--state-dir", type=Path, default=None, help="pods' files, logs, TLS")
    serve.add_argument(
        "--kubernetes", action="store_true", help="plain Kubernetes: no OpenShift API groups"
    )
    serve.add_argument("--no-seed", action="store_true", help="start without the seed objects")
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault, e.g. api-error=503:rate=0.5:retry-after=2[:user=NAME], "
        "latency=0.2, "
        "exec-cut=4096, watch-disconnect=3, log-disconnect=1000, log-break=1000, "
        "node-not-ready=NODE, "
        "revoke-token=TOKEN (repeatable)",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


async def serve(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir or Path(tempfile.mkdtemp(prefix="kubesim-"))
    options = ClusterOptions(
        state_dir=state_dir,
        openshift=not args.kubernetes,
        host=args.host,
        port=args.port,
        plain_http_port=args.plain_http_port,
        seed=not args.no_seed,
        faults=list(args.fault),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Cluster(options) as cluster:
        kubeconfig = cluster.kubeconfig_path
        if args.kubeconfig_out is not None:
            kubeconfig = cluster.write_kubeconfig(args.kubeconfig_out)
        flavour = "OpenShift" if options.openshift else "Kubernetes"
        lines = [f"kubesim {flavour} cluster at {cluster.url}"]
        if cluster.plain_url:
            lines.append(f"plain HTTP at {cluster.plain_url}")
        lines += [
            f"kubeconfig: {kubeconfig}   (export KUBECONFIG={kubeconfig})",
            f"CA: {cluster.ca_file}",
            f"state: {state_dir}",
            f"tokens: {ADMIN_TOKEN} (kube:admin, cluster-admin), {USER_TOKEN} (developer)",
            "stop with Ctrl-C",
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        await stop.wait()
        log.info("stopping")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(serve(args))
    except (KubesimError, OSError) as e:
        sys.stderr.write(f"kubesim: {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())

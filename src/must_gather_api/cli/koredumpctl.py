"""`koredumpctl`: koredump's command lines, answered by `must-gather-api cores`.

koredump's script takes its options anywhere on the line (GNU getopt: `koredumpctl -1 get`,
`koredumpctl list -n ns --pod p -o json`); this reorders them after the subcommand and runs
the same commands. `-v` and `-x` (curl's and the shell's tracing) are accepted and ignored.
The service is found as by every client command: `--server`, `$MUST_GATHER_API_URL`, the
kubeconfig.
"""

from __future__ import annotations

import getopt
import sys

from must_gather_api.cli import cores_commands

_SHORT = "1ado:vxhn:p:"
_LONG = ["help", "token=", "namespace=", "pod=", "server=", "ca-file=", "insecure"]
_USAGE = """usage: koredumpctl [options] list|get|status [NODE CORE_ID]

  list                 list core dumps (-o json, -1 the newest, -n NS, -p POD)
  get NODE CORE_ID     save one core with its metadata (-1 the newest, -a all, -d decompressed)
  status               the service, the count of cores, nodes that did not answer

Options: --token TOKEN, --server URL, --ca-file PEM, --insecure
"""


def translate(argv: list[str]) -> list[str] | None:
    """The `must-gather-api cores` arguments for a koredumpctl line; None to print usage."""
    try:
        options, rest = getopt.gnu_getopt(argv, _SHORT, _LONG)
    except getopt.GetoptError as e:
        raise SystemExit(f"koredumpctl: {e}") from e
    if not rest or any(name in ("-h", "--help") for name, _ in options):
        return None
    command, arguments = rest[0], rest[1:]
    if command not in ("list", "get", "status"):
        return None
    translated = [command, *arguments]
    for name, value in options:
        if name in ("-v", "-x"):
            continue
        if command != "get" and name in ("-a", "-d"):
            continue
        if command == "status" and name in ("-1", "-n", "--namespace", "-p", "--pod"):
            continue
        if command == "get" and name == "-o":
            continue
        translated += [name, value] if value else [name]
    return translated


def main() -> None:
    translated = translate(sys.argv[1:])
    if translated is None:
        sys.stdout.write(_USAGE)
        raise SystemExit(0 if "-h" in sys.argv or "--help" in sys.argv else 1)
    cores_commands.app(args=translated, prog_name="koredumpctl")

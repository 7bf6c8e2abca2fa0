"""A simulated systemd-coredump: what a node keeps when a container's process dumps core.

When a container's main process dies of a signal whose default action dumps core, the
kubelet does what the kernel and systemd-coredump do on an OpenShift node, in the node's
directory (``<state_dir>/nodes/<node>/``, the root of its hostPath volumes):

- ``var/lib/systemd/coredump/core.<comm>.<uid>.<boot id>.<pid>.<usec>.zst``, zstd-compressed,
  mode 0640, with the extended attributes systemd-coredump sets (``user.coredump.pid``,
  ``uid``, ``gid``, ``signal``, ``timestamp``, ``rlimit``, ``hostname``, ``comm``, ``exe``);
- the journal entry (``MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1``, the ``COREDUMP_*``
  fields, including ``COREDUMP_ENVIRON`` and the conmon command line), as one line of
  ``journalctl -o json`` in ``var/log/journal/kubesim-coredump.json``: a stand-in for the
  binary journal, which only journald writes;
- the runtime state CRI-O keeps for the container,
  ``run/containers/storage/overlay-containers/<id>/userdata/config.json`` (annotations with
  the pod, namespace, container and image; ``process.env`` with the container's environment).

The core's bytes are simulated: an ELF core header, the command line, then ``CORE_BYTES``
(default 256 KiB, from the container's environment) of mixed text and random bytes. The
host's own kernel is never asked to dump a real core here.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import struct
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import zstandard

CORE_DIR = "var/lib/systemd/coredump"
JOURNAL_FILE = "var/log/journal/kubesim-coredump.json"
RUNTIME_DIR = "run/containers/storage/overlay-containers"
MESSAGE_ID = "fc2e22bc6ee647b6b90729ab34a250b1"
BOOT_ID = "5f0c0ad4a6a84b0f9a3d6e0d1c2b3a49"
_DEFAULT_CORE_BYTES = 256 * 1024
_MAX_CORE_BYTES = 1024 * 1024 * 1024

# Signals whose default action is "core" (signal(7)).
CORE_SIGNALS = frozenset(
    {
        signal.SIGQUIT,
        signal.SIGILL,
        signal.SIGTRAP,
        signal.SIGABRT,
        signal.SIGBUS,
        signal.SIGFPE,
        signal.SIGSEGV,
        signal.SIGXCPU,
        signal.SIGXFSZ,
        signal.SIGSYS,
    }
)


@dataclass(frozen=True)
class Crash:
    """One container process that died of ``signal_number``."""

    node: str
    namespace: str
    pod: str
    pod_uid: str
    container: str
    restart_count: int
    image: str
    argv: Sequence[str]
    env: Mapping[str, str]
    pid: int
    signal_number: int
    container_id: str


def dumps_core(exit_code: int) -> int | None:
    """The signal number when ``exit_code`` (128+N) is a core-dumping signal, else None."""
    number = exit_code - 128
    if number in {int(s) for s in CORE_SIGNALS}:
        return number
    return None


def _core_bytes(crash: Crash) -> bytes:
    size = _DEFAULT_CORE_BYTES
    with contextlib.suppress(ValueError):
        size = max(0, min(int(crash.env.get("CORE_BYTES", size)), _MAX_CORE_BYTES))
    # ELF64 little-endian header, e_type ET_CORE (4), e_machine x86-64 (62).
    header = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack("<HHI", 4, 62, 1) + b"\0" * 40
    body = bytearray(header + "\0".join(crash.argv).encode() + b"\0")
    block = 0
    while len(body) < size:
        if block % 2 == 0:
            body += (f"stack frame {block} of pid {crash.pid}\n" * 2048).encode()[:65536]
        else:
            body += secrets.token_bytes(65536)
        block += 1
    return bytes(body[:size]) if size >= len(header) else bytes(body)


def record(state_node_root: Path, crash: Crash) -> Path:
    """Writes the core, its journal entry and the runtime state; returns the core's path.

    Blocking: call it in a thread.
    """
    now_usec = time.time_ns() // 1000
    exe = crash.argv[0] if crash.argv else "unknown"
    comm = os.path.basename(exe)[:15] or "unknown"
    uid = gid = 0
    core_dir = state_node_root / CORE_DIR
    core_dir.mkdir(parents=True, exist_ok=True)
    name = f"core.{comm}.{uid}.{BOOT_ID}.{crash.pid}.{now_usec}.zst"
    data = zstandard.ZstdCompressor(level=3).compress(_core_bytes(crash))
    partial = core_dir / f".#{name}{secrets.token_hex(8)}"
    with partial.open("wb") as file:
        os.fchmod(file.fileno(), 0o640)
        file.write(data)
        attributes = {
            "pid": str(crash.pid),
            "uid": str(uid),
            "gid": str(gid),
            "signal": str(crash.signal_number),
            "timestamp": str(now_usec),
            "rlimit": "18446744073709551615",
            "hostname": crash.pod,
            "comm": comm,
            "exe": exe,
        }
        for key, value in attributes.items():
            os.setxattr(file.fileno(), f"user.coredump.{key}", value.encode())
    core = core_dir / name
    partial.rename(core)  # systemd-coredump links the finished file in place, too

    container_id = crash.container_id.partition("://")[2] or crash.container_id
    userdata = f"/{RUNTIME_DIR}/{container_id}/userdata"
    log_path = (
        f"/var/log/pods/{crash.namespace}_{crash.pod}_{crash.pod_uid}/{crash.container}/"
        f"{crash.restart_count}.log"
    )
    conmon = (
        f"/usr/bin/conmon -b {userdata} -c {container_id} --exit-dir /var/run/crio/exits "
        f"-l {log_path} --log-level info "
        f"-n k8s_{crash.container}_{crash.pod}_{crash.namespace}_{crash.pod_uid}_"
        f"{crash.restart_count} -r /usr/bin/runc --runtime-arg --root=/run/runc --socket-dir-path "
        "/var/run/crio --syslog -u " + container_id + " -s"
    )
    entry = {
        "MESSAGE_ID": MESSAGE_ID,
        "MESSAGE": f"Process {crash.pid} ({comm}) of user {uid} dumped core.",
        "PRIORITY": "2",
        "SYSLOG_IDENTIFIER": "systemd-coredump",
        "_HOSTNAME": crash.node,
        "_BOOT_ID": BOOT_ID,
        "COREDUMP_PID": str(crash.pid),
        "COREDUMP_UID": str(uid),
        "COREDUMP_GID": str(gid),
        "COREDUMP_SIGNAL": str(crash.signal_number),
        "COREDUMP_SIGNAL_NAME": signal.Signals(crash.signal_number).name,
        "COREDUMP_TIMESTAMP": str(now_usec),
        "COREDUMP_RLIMIT": "18446744073709551615",
        "COREDUMP_HOSTNAME": crash.pod,
        "COREDUMP_COMM": comm,
        "COREDUMP_EXE": exe,
        "COREDUMP_CMDLINE": " ".join(crash.argv),
        "COREDUMP_CGROUP": (
            f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
            f"{crash.pod_uid.replace('-', '_')}.slice/crio-{container_id}.scope"
        ),
        "COREDUMP_ENVIRON": "\n".join(f"{k}={v}" for k, v in crash.env.items()),
        "COREDUMP_CONTAINER_CMDLINE": conmon,
        "COREDUMP_FILENAME": f"/{CORE_DIR}/{name}",
    }
    journal = state_node_root / JOURNAL_FILE
    journal.parent.mkdir(parents=True, exist_ok=True)
    with journal.open("a", encoding="utf-8") as file:
        file.write(json.dumps(entry) + "\n")

    state = state_node_root / RUNTIME_DIR / container_id / "userdata"
    state.mkdir(parents=True, exist_ok=True)
    config = {
        "ociVersion": "1.0.2-dev",
        "process": {"args": list(crash.argv), "env": [f"{k}={v}" for k, v in crash.env.items()]},
        "annotations": {
            "io.kubernetes.pod.name": crash.pod,
            "io.kubernetes.pod.namespace": crash.namespace,
            "io.kubernetes.pod.uid": crash.pod_uid,
            "io.kubernetes.container.name": crash.container,
            "io.kubernetes.cri-o.ImageName": crash.image,
        },
    }
    (state / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return core

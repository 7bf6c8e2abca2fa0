"""The program a node pod runs to read that node's core dumps (standard library only).

The service sends this module's source as ``python3 -c <source> <command> <args...>`` into
a short-lived pod on the node (docs/cores.md); it never imports it there. Commands:

- ``list <cores> <journal> <runtime> <namespace regex>``: a JSON array, one object per core
  file: the ``user.coredump.*`` extended attributes as ``COREDUMP_*`` keys, the journal
  entry's ``COREDUMP_*`` fields where the journal is readable, and ``pod``, ``container``,
  ``namespace`` (from conmon's ``-n k8s_<container>_<pod>_<namespace>_<uid>_<n>``) and
  ``image_name`` (from CRI-O's ``config.json`` annotations). Never the environment.
- ``stat <cores> <id>``: ``{"size": N, "mtime": seconds}``.
- ``read <cores> <id> <offset> <length>``: those bytes of the file on stdout.
- ``delete <cores> <id>``: removes the file; ``{"deleted": true}``.

Exit 3 with a message on stderr when the core does not exist, 2 for a bad command.
No path literal appears below: the directories come as arguments, from the pod's mounts.
"""

# ruff: noqa: T201 - a command-line program: it answers on stdout and stderr

from __future__ import annotations

import itertools
import json
import os
import re
import sys
from typing import Any

NOT_FOUND = 3
BAD_COMMAND = 2
_MESSAGE_ID = "fc2e22bc6ee647b6b90729ab34a250b1"
# Never sent back: the crashed process's environment and what may hold it.
SECRET_FIELDS = frozenset({"COREDUMP_ENVIRON", "COREDUMP_PROC_AUXV", "COREDUMP"})
_CORE_ID = re.compile(r"core\.[A-Za-z0-9_.:@+-]{1,250}")
_CONTAINER_ID = re.compile(r"[0-9a-f]{12,128}")


def valid_id(core_id: str) -> bool:
    return bool(_CORE_ID.fullmatch(core_id)) and ".." not in core_id


def _xattrs(path: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    try:
        names = os.listxattr(path)
    except OSError:
        return found
    for name in names:
        if not name.startswith("user.coredump."):
            continue
        try:
            value = os.getxattr(path, name).decode("utf-8", "replace")
        except OSError:
            continue
        found["COREDUMP_" + name.removeprefix("user.coredump.").upper()] = value
    return found


def _journal(directory: str) -> dict[str, dict[str, Any]]:
    """systemd-coredump's journal entries by core file name (``journalctl -o json`` lines)."""
    entries: dict[str, dict[str, Any]] = {}
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return entries
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as file:
                lines = file.readlines()
        except OSError:
            continue
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict) or entry.get("MESSAGE_ID") != _MESSAGE_ID:
                continue
            filename = str(entry.get("COREDUMP_FILENAME") or "")
            if filename:
                entries[os.path.basename(filename)] = entry
    return entries


def _from_conmon(cmdline: str, runtime: str) -> dict[str, str]:
    derived: dict[str, str] = {}
    words = cmdline.split()
    for flag, value in itertools.pairwise(words):
        if flag == "-n" and value.startswith("k8s_"):
            parts = value.split("_")
            if len(parts) == 6:
                derived.update(container=parts[1], pod=parts[2], namespace=parts[3])
        elif flag == "-c" and _CONTAINER_ID.fullmatch(value):
            config = os.path.join(runtime, value, "userdata", "config.json")
            try:
                with open(config, encoding="utf-8") as file:
                    annotations = json.load(file).get("annotations") or {}
            except (OSError, ValueError, AttributeError):
                continue
            image = annotations.get("io.kubernetes.cri-o.ImageName")
            if isinstance(image, str):
                derived["image_name"] = image
            for key, annotation in (
                ("pod", "io.kubernetes.pod.name"),
                ("namespace", "io.kubernetes.pod.namespace"),
                ("container", "io.kubernetes.container.name"),
            ):
                if key not in derived and isinstance(annotations.get(annotation), str):
                    derived[key] = annotations[annotation]
    return derived


def describe(path: str, entry: dict[str, Any] | None, runtime: str) -> dict[str, Any]:
    """One core's metadata: xattrs first, the journal's fields over them, then derived keys."""
    core: dict[str, Any] = _xattrs(path)
    for key, value in (entry or {}).items():
        if key.startswith("COREDUMP_") and key not in SECRET_FIELDS:
            core[key] = value
    conmon = str(core.get("COREDUMP_CONTAINER_CMDLINE") or "")
    if conmon:
        core.update(_from_conmon(conmon, runtime))
    if "pod" not in core and core.get("COREDUMP_HOSTNAME"):
        core["pod"] = core["COREDUMP_HOSTNAME"]
    for key in SECRET_FIELDS:
        core.pop(key, None)
    stat = os.stat(path)
    core["id"] = os.path.basename(path)
    core["ARCH"] = os.uname().machine
    core["size"] = stat.st_size
    core["mtime"] = stat.st_mtime
    return core


def list_cores(cores: str, journal: str, runtime: str, namespace_regex: str) -> list[Any]:
    pattern = re.compile(namespace_regex) if namespace_regex else None
    entries = _journal(journal)
    found = []
    for name in sorted(os.listdir(cores)):
        path = os.path.join(cores, name)
        if not valid_id(name) or not os.path.isfile(path):
            continue
        try:
            core = describe(path, entries.get(name), runtime)
        except OSError:
            continue  # removed meanwhile
        if pattern is not None and not pattern.fullmatch(str(core.get("namespace", ""))):
            continue
        found.append(core)
    return found


def _core_path(cores: str, core_id: str) -> str:
    path = os.path.join(cores, core_id)
    if not valid_id(core_id) or not os.path.isfile(path):
        print(f"no core {core_id} on this node", file=sys.stderr)
        sys.exit(NOT_FOUND)
    return path


def _read(path: str, offset: int, length: int) -> None:
    out = sys.stdout.buffer
    with open(path, "rb") as file:
        file.seek(offset)
        while length > 0:
            chunk = file.read(min(length, 1024 * 1024))
            if not chunk:
                break
            out.write(chunk)
            length -= len(chunk)
    out.flush()


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: list|stat|read|delete <cores> ...", file=sys.stderr)
        return BAD_COMMAND
    command, cores, rest = argv[0], argv[1], argv[2:]
    if command == "list" and len(rest) == 3:
        print(json.dumps(list_cores(cores, rest[0], rest[1], rest[2])))
    elif command == "stat" and len(rest) == 1:
        stat = os.stat(_core_path(cores, rest[0]))
        print(json.dumps({"size": stat.st_size, "mtime": stat.st_mtime}))
    elif command == "read" and len(rest) == 3:
        _read(_core_path(cores, rest[0]), int(rest[1]), int(rest[2]))
    elif command == "delete" and len(rest) == 1:
        os.unlink(_core_path(cores, rest[0]))
        print(json.dumps({"deleted": True}))
    else:
        print(f"bad command: {command}", file=sys.stderr)
        return BAD_COMMAND
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

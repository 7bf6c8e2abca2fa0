"""How a container's absolute paths become host paths.

A container is a host process, so every absolute path it is given must be rewritten to
where the pod's files really are. The rules (documented in docs/kubesim-kubelet.md):

- a path under a volume mount goes straight to the volume's directory, so that tools which
  do not follow a symlink given as an operand (``tar cf - /must-gather``) see the real tree;
- a path that exists in the container root, or a new file whose parent directory does (and
  that does not exist on the host), goes to the container root;
- anything else (``/bin/sh``, ``/usr/bin/tar``, ``/dev/null``) is the host's own.

The same rewriting applies to words of ``sh -c`` / ``bash -c`` (and ``python3 -c``) scripts
that start at a word boundary. GNU tar's member names are mapped back with ``--transform``
rules passed through ``TAR_OPTIONS``, so archives look as they would in a real container
(``must-gather/...``).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Host trees a container shares with the host in this simulation.
_NEVER_MAPPED = ("/dev", "/proc", "/sys")
# Programs whose ``-c`` argument is a script in which paths are rewritten.
_SCRIPTED = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "python", "python3"})
# A path word starts after one of these (or at the start) and runs until shell syntax.
_SCRIPT_PATH = re.compile(r"""(?<![^\s'"`=;|&(<>])/[^\s'"`;|&()<>$]*""")
_REGEX_SPECIAL = re.compile(r"[.*\[\]^$]")
_UNSAFE_IN_TAR_OPTIONS = re.compile(r"[\s,'\"\\]")


@dataclass(frozen=True)
class Mount:
    """A volume mounted into a container: ``container_path`` shows ``host_path``."""

    container_path: str
    host_path: Path
    read_only: bool = False


class PathMap:
    """The path rewriting of one container."""

    def __init__(self, root: Path, mounts: Sequence[Mount] = ()) -> None:
        self.root = root
        # Longest mount path first, so nested mounts win over their parents.
        self.mounts = sorted(
            (Mount(posixpath.normpath(m.container_path), m.host_path, m.read_only) for m in mounts),
            key=lambda m: len(m.container_path),
            reverse=True,
        )

    def to_host(self, path: str) -> str | None:
        """The host path for an absolute container path, or None when it stays the host's."""
        if not path.startswith("/"):
            return None
        trailing = "/" if path.endswith("/") and path != "/" else ""
        norm = posixpath.normpath(path)
        if norm.startswith("//"):
            return None
        if norm == "/":
            return str(self.root) + trailing
        for prefix in _NEVER_MAPPED:
            if norm == prefix or norm.startswith(prefix + "/"):
                return None
        for mount in self.mounts:
            if norm == mount.container_path:
                return str(mount.host_path) + trailing
            if norm.startswith(mount.container_path + "/"):
                rest = norm[len(mount.container_path) :]
                return str(mount.host_path) + rest + trailing
        in_root = str(self.root) + norm
        if os.path.lexists(in_root):
            return in_root + trailing
        parent = posixpath.dirname(norm)
        if parent != "/" and os.path.isdir(str(self.root) + parent) and not os.path.lexists(norm):
            return in_root + trailing
        return None

    def map_arg(self, arg: str) -> str:
        """One argv element: a path, or ``--option=/path``."""
        if arg.startswith("/"):
            return self.to_host(arg) or arg
        if arg.startswith("-") and "=/" in arg:
            option, _, value = arg.partition("=")
            mapped = self.to_host(value)
            if mapped is not None:
                return f"{option}={mapped}"
        return arg

    def map_script(self, script: str) -> str:
        """Rewrites the absolute paths of a shell script that start at a word boundary."""

        def replace(match: re.Match[str]) -> str:
            word = match.group(0)
            if word == "/":
                return word  # a bare slash in a script is more often an operator than a path
            return self.to_host(word) or word

        return _SCRIPT_PATH.sub(replace, script)

    def map_argv(self, argv: Sequence[str]) -> list[str]:
        """A container's command plus args (or an exec command), ready for the host."""
        if not argv:
            return []
        mapped = [self.map_arg(a) for a in argv]
        if posixpath.basename(argv[0]) in _SCRIPTED:
            script_at = _script_index(argv)
            if script_at is not None:
                mapped[script_at] = self.map_script(argv[script_at])
        return mapped

    def working_dir(self, working_dir: str | None) -> Path:
        """The process's cwd: the mapped workingDir, else the container root."""
        if working_dir:
            mapped = self.to_host(working_dir)
            if mapped is not None:
                return Path(mapped)
            return Path(str(self.root) + posixpath.normpath(working_dir))
        return self.root

    def tar_options(self) -> str:
        """``TAR_OPTIONS`` that turn host member names back into container ones."""
        rules: list[tuple[str, str]] = []
        for mount in self.mounts:
            container = mount.container_path.lstrip("/")
            rules.append((str(mount.host_path).lstrip("/"), container))
            rules.append(((str(self.root) + mount.container_path).lstrip("/"), container))
        rules.append((str(self.root).lstrip("/"), ""))
        options: list[str] = []
        for host, container in rules:
            if not host or _UNSAFE_IN_TAR_OPTIONS.search(host + container):
                continue  # TAR_OPTIONS cannot quote these: leave such names unmapped
            pattern = _REGEX_SPECIAL.sub(lambda m: f"[{m.group(0)}]", host)
            if container:
                options.append(f"--transform=s,^{pattern}/,{container}/,")
                options.append(f"--transform=s,^{pattern}$,{container},")
            else:
                options.append(f"--transform=s,^{pattern}/,,")
        return " ".join(options)


def _script_index(argv: Sequence[str]) -> int | None:
    """Where the script of ``sh [-opts] -c SCRIPT ...`` is, if it is one."""
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in ("-o", "+o", "-O", "+O"):
            i += 2  # these take an option name as their value
            continue
        if arg == "--" or not arg.startswith("-") or arg == "-":
            return None
        if arg.startswith("--"):
            i += 1
            continue
        if "c" in arg[1:]:
            # Options such as -o take a value; a bundle like -ec runs the next word as script.
            return i + 1 if i + 1 < len(argv) else None
        i += 1
    return None

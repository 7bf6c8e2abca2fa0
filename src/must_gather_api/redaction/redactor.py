"""One redaction: a configuration applied to the members of one archive, with its report.

The packer asks, member by member: what is this path called now (or is it left out), and
what are its contents now. Every obfuscator keeps one tracker for the whole archive, so a
value gets the same replacement in every file and path (and across the images of one
gathering, which are packed together). Blocking and single-threaded: run it off the
event loop, one redaction per thread.
"""

from __future__ import annotations

import dataclasses
import datetime
import zlib
from collections.abc import Callable
from importlib import metadata
from typing import IO

from must_gather_api.redaction.config import ObfuscateType, RedactionConfig
from must_gather_api.redaction.obfuscators import DomainObfuscator, Obfuscator, build
from must_gather_api.redaction.omission import Omitter
from must_gather_api.redaction.report import RedactionReport, RuleReport
from must_gather_api.redaction.streams import clean_member, compression_of, uncleanable

WATERMARK = "watermark.txt"
_CORRUPT = (OSError, EOFError, zlib.error, ValueError)


def _version() -> str:
    try:
        return metadata.version("must-gather-api")
    except metadata.PackageNotFoundError:
        return "unknown"


class Redactor:
    def __init__(self, config: RedactionConfig, *, cluster_domains: tuple[str, ...] = ()) -> None:
        self.config = config
        self.obfuscators: list[Obfuscator] = [
            build(rule, extra_domains=cluster_domains) for rule in config.obfuscate
        ]
        self._for_paths = [o for o in self.obfuscators if o.rule.target.paths]
        self._for_contents = [o for o in self.obfuscators if o.rule.target.contents]
        self._omitter = Omitter(config.omit)
        self._uncleaned: list[tuple[str, str]] = []

    # -- what the packer asks ------------------------------------------------------

    def rename(self, relative: str, *, symlink: bool = False) -> str | None:
        """The member's new path (relative to the root), or None when it is left out."""
        if self._omitter.path(relative, symlink=symlink):
            return None
        if not symlink and uncleanable(relative):
            self._uncleaned.append((relative, "an archive inside the archive cannot be cleaned"))
            return None
        return self.clean_path(relative)

    def clean_path(self, text: str) -> str:
        for obfuscator in self._for_paths:
            text = obfuscator(text)
        return text

    def clean_text(self, text: str) -> str:
        for obfuscator in self._for_contents:
            text = obfuscator(text)
        return text

    def contents(self, relative: str, opener: Callable[[], IO[bytes]], sink: IO[bytes]) -> bool:
        """Write the cleaned contents to ``sink`` (seekable, empty); False when the file is
        left out (an omitted Kubernetes resource, or compressed data that cannot be read)."""
        if self._omitter.resource(relative, opener):
            return False
        try:
            with opener() as source:
                clean_member(relative, source, sink, self.clean_text)
        except _CORRUPT:
            if not compression_of(relative):
                raise
            sink.seek(0)
            sink.truncate()
            self._uncleaned.append((relative, "its compressed data cannot be read"))
            return False
        return True

    def extra_members(self) -> list[tuple[str, bytes]]:
        """``watermark.txt`` at the root: when and by what the archive was redacted."""
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        return [(WATERMARK, f"{now}\nmust-gather-api {_version()}: redacted\n".encode())]

    # -- afterwards --------------------------------------------------------------

    def report(self) -> RedactionReport:
        rules = []
        for obfuscator in self.obfuscators:
            rule = obfuscator.rule
            if rule.type is ObfuscateType.DOMAIN and isinstance(obfuscator, DomainObfuscator):
                # The report replays without finding the cluster's domain again.
                rule = dataclasses.replace(rule, domain_names=obfuscator.names)
            rules.append(RuleReport(rule, tuple(obfuscator.replacements())))
        return RedactionReport(
            config=self.config,
            rules=tuple(rules),
            omissions=tuple(self._omitter.omitted + [path for path, _ in self._uncleaned]),
            uncleaned=tuple(self._uncleaned),
        )

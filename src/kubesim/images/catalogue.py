"""The images kubesim can "pull": reference parsing and the catalogue of stand-in images.

An image is a directory under ``roots/`` that stands for its root filesystem. Several
repositories may share a root (the OpenShift default image is known under two names).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOTS_DIR = Path(__file__).resolve().parent / "roots"

DEFAULT_REGISTRY = "docker.io"
# Registry hosts are told apart from the first path component the way docker does it.
_REGISTRY_HINT = re.compile(r"[.:]|^localhost$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")


class InvalidReference(ValueError):
    """The string is not an image reference at all (kubelet: InvalidImageName)."""


@dataclass(frozen=True)
class Reference:
    """A parsed ``[registry/]repository[:tag][@digest]``, with docker's defaults filled in."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"


def parse_reference(text: str) -> Reference:
    """Splits an image reference; raises InvalidReference when it cannot be one."""
    if not text or text != text.strip() or len(text) > 4096:
        raise InvalidReference(f"invalid reference format: {text!r}")
    rest, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise InvalidReference(f"invalid digest in {text!r}")
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag: str | None = None
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidReference(f"invalid tag in {text!r}")
    first, _, remainder = rest.partition("/")
    if remainder and _REGISTRY_HINT.search(first):
        registry, repository = first, remainder
    else:
        registry, repository = DEFAULT_REGISTRY, rest
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    if not _REPOSITORY.match(repository):
        raise InvalidReference(f"invalid repository name in {text!r}")
    return Reference(registry.lower(), repository, tag, digest or None)


def stable_digest(seed: str) -> str:
    """A digest that stays the same across runs and machines for one image."""
    return "sha256:" + hashlib.sha256(f"kubesim image {seed}".encode()).hexdigest()


@dataclass(frozen=True)
class Image:
    reference: str
    digest: str
    root: Path
    entrypoint: list[str]
    pullable: bool = True

    @property
    def image_id(self) -> str:
        """``repository@digest``, what a container status reports as ``imageID``."""
        return f"{parse_reference(self.reference).name}@{self.digest}"


@dataclass(frozen=True)
class CatalogueEntry:
    """One image as the catalogue knows it, under one or more repository names."""

    names: tuple[str, ...]
    root: str
    entrypoint: tuple[str, ...]
    tags: frozenset[str] | None = frozenset({"latest"})  # None: any tag resolves
    pullable: bool = True
    description: str = field(default="", compare=False)

    @property
    def digest(self) -> str:
        return stable_digest(self.names[0])

    def accepts(self, ref: Reference) -> bool:
        if ref.name not in self.names:
            return False
        if ref.digest is not None and ref.digest != self.digest:
            return False
        return ref.tag is None or self.tags is None or ref.tag in self.tags


class ImageCatalogue:
    def __init__(self, entries: Iterable[CatalogueEntry], *, roots_dir: Path = ROOTS_DIR) -> None:
        self._entries = tuple(entries)
        self._roots_dir = roots_dir
        self._by_name: dict[str, CatalogueEntry] = {}
        for entry in self._entries:
            for name in entry.names:
                canonical = parse_reference(name).name
                if canonical != name:
                    raise ValueError(f"catalogue name {name!r} must be spelt {canonical!r}")
                if name in self._by_name:
                    raise ValueError(f"image {name!r} is listed twice")
                self._by_name[name] = entry

    @classmethod
    def default(cls) -> ImageCatalogue:
        from kubesim.images.builtin import BUILTIN_IMAGES

        return cls(BUILTIN_IMAGES)

    def __iter__(self) -> Iterator[CatalogueEntry]:
        return iter(self._entries)

    def resolve(self, image: str) -> Image | None:
        """The image a pod's ``image`` field names, or None when no such image exists."""
        try:
            ref = parse_reference(image)
        except InvalidReference:
            return None
        entry = self._by_name.get(ref.name)
        if entry is None or not entry.accepts(ref):
            return None
        return Image(
            reference=image,
            digest=entry.digest,
            root=self._roots_dir / entry.root,
            entrypoint=list(entry.entrypoint),
            pullable=entry.pullable,
        )

    def digest_of(self, name: str) -> str:
        """The digest of a catalogued repository (for seed objects that point at images)."""
        return self._by_name[parse_reference(name).name].digest

"""Container image references and OpenShift image-stream references.

The image grammar is distribution/reference's (what every registry client accepts), so a
value that passes here is one oc and the kubelet can pull, and one that cannot become an
option of the command it is passed to.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from must_gather_api.parameters.syntax import (
    check_dns_label,
    check_dns_subdomain,
    check_plain_text,
    show,
)

__all__ = ["ImageStreamRef", "image", "image_stream"]

NAME_MAX = 255
"""distribution/reference's limit on the name part (domain and path, without tag or digest)."""

_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_NAME = re.compile(
    r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
)
_IPV6_LITERAL = re.compile(r"\[([a-fA-F0-9:]+)\]")
_PORT = re.compile(r"[0-9]+")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):([0-9a-fA-F]{32,})")
# The registered algorithms fix their encoding (go-digest): lowercase hex of a set length.
_KNOWN_DIGESTS = {"sha256": re.compile(r"[a-f0-9]{64}"), "sha512": re.compile(r"[a-f0-9]{128}")}
_PORT_MAX = 65535

_IMAGE_FORM = "[registry[:port]/]path[:tag][@sha256:<64 hex digits>], e.g. quay.io/org/image:v1"
_PATH_RULE = "path components are lowercase letters and digits, joined by '.', '_', '__' or dashes"


def image(value: str) -> str:
    """A container image reference (``[domain[:port]/]path[:tag][@digest]``), returned as given.

    Stricter than the grammar in two harmless ways: a registry port must be 1 to 65535, and a
    bracketed IPv6 registry must be a real IPv6 address.
    """
    check_plain_text(value, what="an image reference")
    if value.startswith("-"):
        raise ValueError(f"{show(value)} starts with '-'; an image reference never does")
    name_and_tag, at, digest = value.partition("@")
    if at:
        _check_digest(value, digest)
    name, tag = name_and_tag, ""
    colon = name_and_tag.rfind(":")
    if colon > name_and_tag.rfind("/"):
        name, tag = name_and_tag[:colon], name_and_tag[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise ValueError(
                f"{show(value)} has an invalid tag {show(tag)}; a tag is 1 to 128 letters, digits, "
                "'_', '.' or '-', not starting with '.' or '-'"
            )
    if name == "":
        raise ValueError(f"{show(value)} has no image name; use {_IMAGE_FORM}")
    if len(name) > NAME_MAX:
        raise ValueError(
            f"{show(value)} has a name of {len(name)} characters; at most {NAME_MAX} are allowed"
        )
    _check_name(value, name)
    return value


def _check_digest(value: str, digest: str) -> None:
    match = _DIGEST.fullmatch(digest)
    known = _KNOWN_DIGESTS.get(match.group(1)) if match else None
    if match is None or (known is not None and not known.fullmatch(match.group(2))):
        raise ValueError(
            f"{show(value)} has an invalid digest {show(digest)}; a digest is "
            "sha256:<64 lowercase hex digits> (or another algorithm:hex)"
        )


def _check_name(value: str, name: str) -> None:
    components = name.split("/")
    # The grammar lets the first of several components be a registry; one that is a valid
    # path component as well is fine either way.
    path = components
    if len(components) > 1 and not _PATH_COMPONENT.fullmatch(components[0]):
        _check_domain(value, components[0])
        path = components[1:]
    for component in path:
        if component == "":
            raise ValueError(f"{show(value)} has an empty path component; use {_IMAGE_FORM}")
        if not _PATH_COMPONENT.fullmatch(component):
            raise ValueError(
                f"{show(value)} has an invalid path component {show(component)}; {_PATH_RULE}"
            )


def _check_domain(value: str, domain: str) -> None:
    host, port = domain, ""
    bracketed = _IPV6_LITERAL.match(domain)
    if bracketed:
        host, port = bracketed.group(0), domain[bracketed.end() :]
        try:
            ipaddress.IPv6Address(bracketed.group(1))
        except ValueError:
            raise ValueError(
                f"{show(value)} has an invalid IPv6 registry address {show(host)}"
            ) from None
    elif ":" in domain:
        host, port = domain[: domain.index(":")], domain[domain.index(":") :]
        if not _DOMAIN_NAME.fullmatch(host):
            raise ValueError(
                f"{show(value)} has an invalid registry {show(host)}; a registry is a host name, "
                "'localhost' or a bracketed IPv6 address, with an optional :port"
            )
    elif not _DOMAIN_NAME.fullmatch(host):
        raise ValueError(
            f"{show(value)} has an invalid first component {show(domain)}; it must be a registry "
            f"(host[:port]) or a path component ({_PATH_RULE})"
        )
    if port:
        number = port[1:]
        if not (port.startswith(":") and _PORT.fullmatch(number) and 0 < int(number) <= _PORT_MAX):
            raise ValueError(
                f"{show(value)} has an invalid registry port {show(port)}; use :1 to :{_PORT_MAX}"
            )


@dataclass(frozen=True, slots=True)
class ImageStreamRef:
    """An OpenShift image stream tag, as ``oc adm must-gather --image-stream`` takes it."""

    namespace: str
    name: str
    tag: str = "latest"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}:{self.tag}"


def image_stream(value: str) -> ImageStreamRef:
    """``namespace/name[:tag]``; the namespace is required and the tag defaults to ``latest``."""
    check_plain_text(value, what="an image stream as namespace/name[:tag]")
    namespace, slash, name_and_tag = value.partition("/")
    if not slash:
        raise ValueError(
            f"{show(value)} has no namespace; use namespace/name[:tag], e.g. openshift/must-gather"
        )
    name, colon, tag = name_and_tag.partition(":")
    try:
        check_dns_label(namespace, what="namespace")
        check_dns_subdomain(name, what="image stream name")
    except ValueError as e:
        raise ValueError(f"{e} (in {show(value)}, read as namespace/name[:tag])") from e
    if colon and not _TAG.fullmatch(tag):
        raise ValueError(
            f"{show(value)} has an invalid tag {show(tag)}; a tag is 1 to 128 letters, digits, "
            "'_', '.' or '-', not starting with '.' or '-'"
        )
    return ImageStreamRef(namespace=namespace, name=name, tag=tag if colon else "latest")

"""What a caller without the admin permission may ask a gathering to do.

With ``GATHER_CREDENTIALS=service`` every gathering pod runs bound to the service's
cluster-admin account, whoever asked for it. A parameter that chooses what runs (image,
command, image stream), where (node, namespace, host network) or what is read (source
directory) would then hand that account to the caller: a command that reads the pod's
token is a cluster-admin login. So callers without the admin permission (``AUTH_ADMIN_*``,
cluster-admin by default) may only run ``MUST_GATHER_IMAGE`` and the images of
``ALLOWED_IMAGES``, with the image's own command or a targeted one, in a namespace the
service makes. Each refusal is a 403 that names the parameter.

With ``GATHER_CREDENTIALS=caller`` the pods run with the caller's own token, so the
cluster judges every parameter itself; only ``server`` is checked here in both modes,
because it chooses where a token is sent.

``cores`` (core dumps in the archive) needs ``CORES_*``, as ``/apiv1/cores`` does, in both
modes and for admins too: a core dump holds a process's memory.
"""

from __future__ import annotations

from collections.abc import Iterable

from must_gather_api import parameters
from must_gather_api.api.schemas import GatheringRequest
from must_gather_api.auth.base import Authenticator, Caller
from must_gather_api.errors import Forbidden, InvalidParameter
from must_gather_api.settings import GatherCredentials, Permission, RedactionMode, Settings

_ADMINS = "only callers with the admin permission (AUTH_ADMIN_*) may set it"


def image_allowed(image: str, *, default: str, allowed: Iterable[str]) -> bool:
    """``image`` is the default image, or matches an entry of ALLOWED_IMAGES.

    An entry ``repo`` admits that repository with any tag or digest, ``repo:tag`` exactly
    that tag, ``repo@sha256:…`` exactly that digest (whatever tag is written beside it).
    Names are compared as written: ``quay.io/org/image`` does not admit ``org/image``.
    """
    if image == default:
        return True
    name, tag, digest = _parts(image)
    for entry in allowed:
        entry_name, entry_tag, entry_digest = _parts(entry)
        if entry_name != name:
            continue
        if entry_digest:
            if entry_digest == digest:
                return True
        elif entry_tag:
            if entry_tag == tag and not digest:
                return True
        else:
            return True
    return False


def _parts(reference: str) -> tuple[str, str, str]:
    name_and_tag, _, digest = reference.partition("@")
    colon = name_and_tag.rfind(":")
    if colon > name_and_tag.rfind("/"):
        return name_and_tag[:colon], name_and_tag[colon + 1 :], digest
    return name_and_tag, "", digest


async def check(
    asked: GatheringRequest,
    caller: Caller,
    *,
    settings: Settings,
    authenticator: Authenticator,
    default_image: str,
) -> None:
    """Raise Forbidden naming the first parameter this caller may not use."""
    _check_server(asked, caller, settings)
    _check_redaction(asked, caller, settings)
    await _check_cores(asked, caller, settings, authenticator)
    if caller.is_admin or settings.gather_credentials is not GatherCredentials.SERVICE:
        return
    for key, given in (
        ("image-stream", asked.image_stream),
        ("source-dir", asked.source_dir),
        ("node-name", asked.node_name),
        ("node-selector", asked.node_selector),
        ("host-network", asked.host_network),
        ("all-images", asked.all_images),
        ("keep", asked.keep),
    ):
        if given:
            raise Forbidden(f"{key}: {_ADMINS}")
    for image in [asked.image, *asked.images]:
        if image and not image_allowed(
            image, default=default_image, allowed=settings.allowed_images
        ):
            key = "image" if image == asked.image else "images"
            raise Forbidden(
                f"{key}: {parameters.show(image)} is not MUST_GATHER_IMAGE or in ALLOWED_IMAGES; "
                f"{_ADMINS.replace('set it', 'run other images')}"
            )
    if asked.command and not parameters.is_targeted(parameters.parse_command(asked.command)):
        raise Forbidden(
            "command: only a targeted command such as 'PLAN=plan1 /usr/bin/targeted' (NS, PLAN "
            f"and VM set to object names) is allowed; {_ADMINS.replace('set it', 'run others')}"
        )
    if asked.run_namespace:
        pods = Permission(verb="create", group="", resource="pods", namespace=asked.run_namespace)
        if not await authenticator.may(caller, pods):
            raise Forbidden(
                f"run-namespace: user {caller.user!r} may not create pods in namespace "
                f"{asked.run_namespace!r}, so the service will not run there for them"
            )


async def _check_cores(
    asked: GatheringRequest, caller: Caller, settings: Settings, authenticator: Authenticator
) -> None:
    # A core dump is a process's memory: the archive must not be a way around /apiv1/cores.
    if asked.cores in ("", "none"):
        return
    if asked.server:
        raise InvalidParameter(
            "cores", "core dumps are read from this service's own cluster, not with server"
        )
    if asked.cores == "all" and (asked.redact or settings.redaction is RedactionMode.ALWAYS):
        # Redaction replaces addresses and names in text; a core is a process's memory.
        raise InvalidParameter(
            "cores",
            "all cannot be redacted: a core dump is process memory, never safe to share; "
            "ask for metadata, or for all without redact",
        )
    if not await authenticator.may(caller, settings.cores_permission):
        raise Forbidden(
            f"cores: {asked.cores} needs the permission to read core dumps (CORES_*, "
            f"cluster-admin by default), which user {caller.user!r} does not have"
        )


def _check_redaction(asked: GatheringRequest, caller: Caller, settings: Settings) -> None:
    mode = settings.redaction
    if asked.redact and mode is RedactionMode.OFF:
        raise InvalidParameter("redact", "this service does not redact archives (REDACTION=off)")
    if not asked.keep_original:
        return
    if mode is RedactionMode.ALWAYS:
        raise InvalidParameter(
            "keep-original", "this service never keeps un-redacted archives (REDACTION=always)"
        )
    if not asked.redact:
        raise InvalidParameter("keep-original", "only with redact: true")
    if not caller.is_admin:
        raise Forbidden(f"keep-original: {_ADMINS}")


def _check_server(asked: GatheringRequest, caller: Caller, settings: Settings) -> None:
    if not asked.server:
        return
    if not caller.is_admin:
        raise Forbidden(f"server: {_ADMINS}")
    if settings.gather_credentials is GatherCredentials.SERVICE:
        raise Forbidden(
            "server: this service gathers with its own account, whose credentials are never "
            "sent to another API server; ask for GATHER_CREDENTIALS=caller"
        )
    if asked.server not in settings.allowed_servers:
        raise Forbidden(
            f"server: {parameters.show(asked.server)} is not in ALLOWED_SERVERS; this service "
            "gathers only from its own cluster unless an administrator lists others"
        )

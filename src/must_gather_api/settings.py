"""The service's settings: one model, built once at start and passed down.

Every variable of the old service keeps its name and meaning (PORT, DB_PATH,
MUST_GATHER_IMAGE, TIMEOUT, ARCHIVE_FILENAME, CLEANUP_MAX_AGE, DEBUG, USE_KUBECONFIG,
API_TLS_CERTIFICATE, API_TLS_KEY); the new ones are documented field by field. A bad
value stops the start with one line naming the variable (``load_settings``); nothing
is read from the environment later except the two per-request defaults the old service
read at request time (``request_defaults``).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from must_gather_api import parameters
from must_gather_api.errors import ConfigurationError
from must_gather_api.setting_values import (
    ByteQuantity,
    CleanupAge,
    Duration,
    Flag,
    compact_duration,
    duration,
)

log = logging.getLogger(__name__)


class AuthMode(StrEnum):
    KUBERNETES = "kubernetes"
    NONE = "none"


class ListScope(StrEnum):
    ALL = "all"
    OWN = "own"


class GatherCredentials(StrEnum):
    CALLER = "caller"
    SERVICE = "service"


class RedactionMode(StrEnum):
    OFF = "off"
    ON_REQUEST = "on-request"
    ALWAYS = "always"


class ReviewAs(StrEnum):
    SERVICE = "service"
    CALLER = "caller"


class Settings(BaseSettings):
    """Environment variables of must-gather-api (names are the variables, upper-cased)."""

    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", frozen=True, validate_default=True
    )

    # -- listening ---------------------------------------------------------------
    port: Annotated[str, NoDecode] = Field(
        "",
        description="Port to listen on, or host:port.",
    )
    host: str = Field("0.0.0.0", description="Address to listen on when PORT has no host part.")
    api_tls_certificate: Path | None = Field(
        None,
        description="TLS certificate (PEM). With API_TLS_KEY, serves HTTPS; reloaded on change.",
    )
    api_tls_key: Path | None = Field(None, description="TLS private key (PEM).")
    tls_reload_interval: Duration = Field(
        timedelta(seconds=10), description="How often the TLS files are checked for a change."
    )

    # -- store -------------------------------------------------------------------
    db_path: str = Field(
        "./gatherings.db",
        description="SQLite database file; `:memory:` or `file::memory:?cache=shared` for memory.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL (postgresql+asyncpg://...) instead of DB_PATH, for replicas.",
    )
    data_dir: Path = Field(
        Path("./data"), description="Directory for per-gathering work files, logs and archives."
    )
    accel_redirect_prefix: str = Field(
        "",
        description=(
            "Internal location of a reverse proxy (nginx) that serves DATA_DIR, e.g. "
            "`/_data/`: archive downloads then answer with X-Accel-Redirect and the proxy "
            "sends the file with sendfile (docs/deploying.md). Empty: the service sends it."
        ),
    )

    # -- gathering defaults (the old service's names) ------------------------------
    must_gather_image: str = Field(
        "quay.io/kubev2v/forklift-must-gather",
        description="Image used when a request names no image or image-stream (read per request).",
    )
    timeout: Duration = Field(
        timedelta(minutes=20),
        description="Gathering timeout when a request gives none (read per request). Go duration.",
    )
    max_timeout: Duration = Field(
        timedelta(hours=6), description="Largest timeout a request may ask for."
    )
    archive_filename: str = Field(
        "must-gather.tar.gz",
        description="Archive name; a tree holding exactly this file serves it (members checked).",
    )
    cleanup_max_age: CleanupAge = Field(
        None,
        description="Remove finished gatherings older than this (Go duration or hours); -1: never.",
    )
    cleanup_interval: Duration = Field(
        timedelta(minutes=5),
        description="How often cleanup runs (on the housekeeping leader; it also runs at start).",
    )
    archive_max_total_bytes: ByteQuantity = Field(
        None,
        description="Keep all archives under this total (bytes, or 10Gi); oldest go first.",
    )
    redaction: RedactionMode = Field(
        RedactionMode.ON_REQUEST,
        description=(
            "`on-request`: a request's `redact` makes its archive safe to share; `always`: "
            "every archive is redacted and no original is kept; `off`: `redact` is refused."
        ),
    )
    redaction_config: Path | None = Field(
        None,
        description=(
            "must-gather-clean configuration (YAML) for redaction; default: IPs, MACs and the "
            "cluster's domain, Secrets and ConfigMaps left out (docs/redaction.md)."
        ),
    )
    max_archive_bytes: ByteQuantity = Field(
        "20Gi",  # type: ignore[assignment]  # parsed like the environment's value
        description="Largest archive (and copy) one gathering may produce; 0: no limit.",
    )
    max_archive_entries: int = Field(
        2_000_000,
        ge=0,
        description="Most entries (files, directories, links) one gathering may hold; 0: no limit.",
    )

    # -- runner --------------------------------------------------------------------
    max_concurrent_gatherings: int = Field(
        4,
        ge=1,
        le=64,
        description="Gatherings run at once across all replicas; the rest wait in FIFO order.",
    )
    max_queued_gatherings: int = Field(
        100, ge=0, description="Gatherings that may wait in the queue; more get 429. 0: no bound."
    )
    max_gatherings_per_user: int = Field(
        2,
        ge=0,
        description="Queued and running gatherings one non-admin caller may have; 0: no limit.",
    )
    max_follows_per_user: int = Field(
        4, ge=0, description="`logs?follow=true` streams one caller may hold open; 0: no limit."
    )
    gather_timeout_margin: Duration = Field(
        timedelta(minutes=5),
        description=(
            "Time allowed past a gathering's timeout for copying and packing. Copies and the "
            "inspect fallback stop a quarter of it (at most 30 s) sooner, so they can say why "
            "they stopped."
        ),
    )
    shutdown_grace_period: Duration = Field(
        timedelta(seconds=30),
        description=(
            "On SIGTERM, how long running gatherings may go on before they are cancelled "
            "(or, with service credentials and PostgreSQL, handed over to another replica)."
        ),
    )
    serving_cpus: int = Field(
        0,
        ge=0,
        le=4096,
        description=(
            "CPUs kept for answering requests: the service runs on the first this many of the "
            "CPUs it may use, its copying and packing on the others. Pays only on CPUs the "
            "service has to itself (a VM, Kubernetes' static CPU manager). 0: none kept."
        ),
    )
    output_flush_interval: Duration = Field(
        timedelta(seconds=1), description="How often a gathering's output is written to its log."
    )
    exec_output_tail_bytes: int = Field(
        256 * 1024, ge=1024, description="How much of the output tail `exec-output` carries."
    )
    list_output_tail_bytes: int = Field(
        1024, ge=0, description="How much of the output tail each item of the list carries."
    )

    # -- cluster -------------------------------------------------------------------
    use_kubeconfig: Flag = Field(
        False, description="Use a kubeconfig (KUBECONFIG or ~/.kube/config) instead of in-cluster."
    )
    kubeconfig: str | None = Field(
        None, description="Path of the kubeconfig; setting it implies USE_KUBECONFIG."
    )
    server_ca_file: Path | None = Field(
        None,
        description="CA bundle that verifies the servers of ALLOWED_SERVERS (required with them).",
    )
    allowed_servers: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description=(
            "Comma-separated API servers a request's `server` may name (admins only, caller "
            "credentials only); empty: `server` is refused."
        ),
    )
    instance: str = Field(
        "default",
        pattern=r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$",
        description=(
            "This deployment's name on its cluster objects (a label value): a restarted "
            "service removes only what carries it, so two deployments never touch each other's."
        ),
    )
    replica_name: str = Field(
        "",
        max_length=253,
        description=(
            "This replica's name in the store's claims and leases; empty: POD_NAME when set, "
            "else host name and process id."
        ),
    )
    lease_duration: Duration = Field(
        timedelta(seconds=30),
        description=(
            "How long a replica's claim on a running gathering lasts unless renewed (every "
            "third of it); after that another replica takes the gathering over."
        ),
    )
    queue_poll_interval: Duration = Field(
        timedelta(seconds=2),
        description=(
            "How often a replica with a free slot looks for queued gatherings (those posted "
            "to other replicas, or freed by their end there)."
        ),
    )
    gather_credentials: GatherCredentials = Field(
        GatherCredentials.CALLER,
        description=(
            "`caller`: gatherings use the caller's token (in memory only); "
            "`service`: the service's own account."
        ),
    )

    # -- authentication -------------------------------------------------------------
    auth: AuthMode = Field(
        AuthMode.KUBERNETES,
        description="`kubernetes`: tokens checked by the cluster; `none`: no checks (loopback).",
    )

    auth_review_as: ReviewAs = Field(
        ReviewAs.SERVICE,
        description="Who makes the token and access reviews: `service` (its account) or `caller`.",
    )
    auth_verb: str = Field("*", description="Verb a caller needs (default: cluster-admin).")
    auth_group: str = Field("*", description="API group of the permission a caller needs.")
    auth_resource: str = Field("*", description="Resource of the permission a caller needs.")
    auth_namespace: str = Field("*", description="Namespace of the permission a caller needs.")
    auth_admin_verb: str = Field(
        "*",
        description=(
            "Verb of the admin permission: admins see everyone's gatherings and may use every "
            "parameter (default: cluster-admin)."
        ),
    )
    auth_admin_group: str = Field("*", description="API group of the admin permission.")
    auth_admin_resource: str = Field("*", description="Resource of the admin permission.")
    auth_admin_namespace: str = Field("*", description="Namespace of the admin permission.")
    allowed_images: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description=(
            "Comma-separated images callers without the admin permission may run besides "
            "MUST_GATHER_IMAGE: `repo` (any tag or digest), `repo:tag` or `repo@sha256:...`."
        ),
    )
    auth_cache_ttl: Duration = Field(
        timedelta(seconds=10), description="How long an allow or deny decision is reused."
    )
    metrics_auth: Flag = Field(False, description="Put /metrics behind the same check as the API.")
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Comma-separated origins allowed by CORS; empty: CORS off."
    )
    cluster_request_timeout: Duration = Field(
        timedelta(seconds=15), description="Timeout of each call to the Kubernetes API."
    )
    list_scope: ListScope = Field(
        ListScope.ALL,
        description="`all`: every caller sees every gathering; `own`: only their own (admins all).",
    )

    # -- core dumps (docs/cores.md) ---------------------------------------------------
    cores_verb: str = Field(
        "*", description="Verb a caller needs for /apiv1/cores (default: cluster-admin)."
    )
    cores_group: str = Field("*", description="API group of the permission /apiv1/cores needs.")
    cores_resource: str = Field("*", description="Resource of the permission /apiv1/cores needs.")
    cores_namespace: str = Field("*", description="Namespace of the permission /apiv1/cores needs.")
    cores_pod_namespace: str = Field(
        "must-gather-api",
        description="Namespace where the short-lived pods that read nodes' core dumps run.",
    )
    cores_node_image: str = Field(
        "registry.access.redhat.com/ubi9/python-311",
        description="Image of the pods that read nodes' core dumps (any image with python3).",
    )
    cores_namespace_regex: str = Field(
        "",
        description="Only cores of crashed containers whose namespace fully matches this regex.",
    )
    cores_node_timeout: Duration = Field(
        timedelta(seconds=30),
        description="How long one node may take to answer a core dump request.",
    )

    # -- logging -------------------------------------------------------------------
    debug: Flag = Field(False, description="Verbose logging (tokens are never logged).")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: Any,  # noqa: ARG003
        init_settings: Any,
        *_: Any,
        **__: Any,
    ) -> Any:
        # ``load_settings`` reads the environment itself (so tests can pass their own);
        # the model only validates what it is given.
        return (init_settings,)

    @field_validator(
        "api_tls_certificate",
        "api_tls_key",
        "server_ca_file",
        "kubeconfig",
        "redaction_config",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # The old service's default for the TLS paths was the empty string; an empty
        # value must not become Path(".") and switch TLS on.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("accel_redirect_prefix")
    @classmethod
    def _internal_location(cls, value: str) -> str:
        if value and not (value.startswith("/") and value.endswith("/")):
            raise ValueError("must be an absolute location ending in '/', such as /_data/")
        if any(c in value for c in "?#\\ \r\n"):
            raise ValueError("must be a plain location path (no query, fragment or spaces)")
        return value

    @field_validator("queue_poll_interval")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be more than 0s")
        return value

    @field_validator("lease_duration")
    @classmethod
    def _renewable(cls, value: timedelta) -> timedelta:
        # Renewed every third of it: below a second, one slow store round trip loses it.
        if value < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return value

    @field_validator("cores_namespace_regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as e:
            raise ValueError(f"not a regular expression: {e}") from e
        return value

    @field_validator("allowed_origins", "allowed_images", "allowed_servers", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("allowed_images")
    @classmethod
    def _image_references(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(parameters.image(image) for image in value)

    @field_validator("allowed_servers")
    @classmethod
    def _server_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(parameters.server(address) for address in value)

    @field_validator("archive_filename")
    @classmethod
    def _plain_file_name(cls, value: str) -> str:
        if not value or "/" in value or value in {".", ".."} or not value.isprintable():
            raise ValueError("must be a plain file name such as must-gather.tar.gz")
        return value

    @field_validator("must_gather_image")
    @classmethod
    def _image_reference(cls, value: str) -> str:
        return parameters.image(value)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if (self.api_tls_certificate is None) != (self.api_tls_key is None):
            raise ValueError("API_TLS_CERTIFICATE and API_TLS_KEY must be given together")
        if self.timeout > self.max_timeout:
            raise ValueError("TIMEOUT is larger than MAX_TIMEOUT")
        if self.allowed_servers and self.server_ca_file is None:
            # The in-cluster CA vouches for this cluster only; another server needs its own.
            raise ValueError("ALLOWED_SERVERS needs SERVER_CA_FILE, the CA bundle of those servers")
        self.listen_address()  # raises for a malformed PORT
        return self

    @property
    def required_permission(self) -> Permission:
        return Permission(
            verb=self.auth_verb,
            group=self.auth_group,
            resource=self.auth_resource,
            namespace=self.auth_namespace,
        )

    @property
    def admin_permission(self) -> Permission:
        # Its own default (cluster-admin), never AUTH_*'s: a narrower AUTH_* must not make
        # every allowed caller an admin.
        return Permission(
            verb=self.auth_admin_verb,
            group=self.auth_admin_group,
            resource=self.auth_admin_resource,
            namespace=self.auth_admin_namespace,
        )

    @property
    def cores_permission(self) -> Permission:
        return Permission(
            verb=self.cores_verb,
            group=self.cores_group,
            resource=self.cores_resource,
            namespace=self.cores_namespace,
        )

    @property
    def narrower_than_admin(self) -> bool:
        """Whether some allowed callers may not be admins."""
        return self.required_permission != self.admin_permission

    @property
    def tls(self) -> bool:
        return self.api_tls_certificate is not None

    @property
    def uses_kubeconfig(self) -> bool:
        return self.use_kubeconfig or self.kubeconfig is not None

    def listen_address(self) -> tuple[str, int]:
        """(host, port): PORT may be `8443`, `:8443` or `host:8443`, as the old service took it."""
        text = self.port.strip()
        host = self.host
        if not text:
            return host, 8443 if self.tls else 8080
        if ":" in text:
            host_part, _, text = text.rpartition(":")
            host = host_part.strip("[]") or host
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise ValueError(f"PORT {self.port!r} is not a port number (1-65535) or host:port")
        return host, int(text)

    def listens_on_loopback_only(self) -> bool:
        host, _ = self.listen_address()
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def database_address(self) -> str:
        """The SQLAlchemy URL of the store (DATABASE_URL wins over DB_PATH)."""
        if self.database_url:
            return self.database_url
        if self.db_path in {":memory:", "file::memory:?cache=shared"}:
            return "sqlite+aiosqlite:///file:must-gather-api?mode=memory&cache=shared&uri=true"
        return f"sqlite+aiosqlite:///{self.db_path}"


def replica_identity(settings: Settings, *, environ: Mapping[str, str] = os.environ) -> str:
    """REPLICA_NAME, else the pod's name (deploy/ passes it as POD_NAME), else host and pid:
    unique among the replicas sharing a store, and readable in a reason that names it."""
    if settings.replica_name.strip():
        return settings.replica_name.strip()
    pod = environ.get("POD_NAME", "").strip()
    if pod:
        return pod
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Permission:
    """The resource attributes of a SubjectAccessReview."""

    verb: str
    group: str
    resource: str
    namespace: str


@dataclass(frozen=True)
class RequestDefaults:
    image: str
    timeout: str
    redact: bool = False


def request_defaults(
    settings: Settings, *, environ: Mapping[str, str] = os.environ
) -> RequestDefaults:
    """MUST_GATHER_IMAGE and TIMEOUT as the old service read them: at request time.

    A value changed to something invalid after the start is ignored (with a warning)
    in favour of the value validated at start, so configuration never fails a request.
    """
    image = environ.get("MUST_GATHER_IMAGE", "").strip() or settings.must_gather_image
    timeout = environ.get("TIMEOUT", "").strip()
    try:
        image = parameters.image(image)
    except ValueError:
        log.warning("MUST_GATHER_IMAGE changed to an invalid value; keeping the one from start")
        image = settings.must_gather_image
    if timeout:
        try:
            valid = timedelta(0) < duration(timeout) <= settings.max_timeout
        except ValueError:
            valid = False
        if not valid:
            log.warning("TIMEOUT changed to an invalid value; keeping the one from start")
            timeout = ""
    return RequestDefaults(
        image=image,
        timeout=timeout or compact_duration(settings.timeout),
        redact=settings.redaction is RedactionMode.ALWAYS,
    )


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings, or raise ConfigurationError with one line naming the variable."""
    source = dict(os.environ if environ is None else environ)
    lowered = {key.lower(): value for key, value in source.items()}
    values = {name: lowered[name] for name in Settings.model_fields if name in lowered}
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as e:
        error = e.errors()[0]
        where = ".".join(str(part) for part in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        # Checks across fields have no location; their messages begin with the variable.
        raise ConfigurationError(f"{where}: {message}" if where else message) from e

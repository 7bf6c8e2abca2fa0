"""Certificates in the archive that have expired or expire within ``SOON``.

Read from ConfigMaps (CA bundles, serving certificates: PEM in their data) and from
`.pem`/`.crt` files. Secrets hold no values in a must-gather (they are redacted), so a
certificate kept only in a Secret cannot be checked here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import NameOID

from must_gather_api.analysis.model import Finding, Severity
from must_gather_api.analysis.source import ArchiveFiles, name_of

AREA = "certificates"
SOON = timedelta(days=30)
CONFIG_MAPS = re.compile(
    r"(^|/)namespaces/[^/]+/(core/configmaps\.yaml|core/configmaps/[^/]+\.yaml)$"
)
PEM_FILES = re.compile(r"\.(pem|crt|cert)$")
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def certificates(data: bytes) -> Iterator[x509.Certificate]:
    for block in _PEM.findall(data):
        try:
            yield x509.load_pem_x509_certificate(block)
        except ValueError:
            continue  # not a certificate after all: nothing to say about it


def _subject(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string() or "(no subject)"


def _finding(obj: str, where: str, cert: x509.Certificate, path: str, now: datetime) -> Finding:
    expires = cert.not_valid_after_utc
    left = expires - now
    day = expires.strftime("%Y-%m-%d")
    if left.total_seconds() <= 0:
        return Finding(
            Severity.ERROR,
            AREA,
            obj,
            "Expired",
            f"certificate {_subject(cert)} ({where}) expired on {day}",
            (path,),
        )
    return Finding(
        Severity.WARNING,
        AREA,
        obj,
        "ExpiresSoon",
        f"certificate {_subject(cert)} ({where}) expires on {day}, in {left.days} days",
        (path,),
    )


def analyze(files: ArchiveFiles, now: datetime) -> list[Finding]:
    # Per object, the certificate that expires first is the one to act on.
    soonest: dict[str, tuple[datetime, Finding]] = {}

    def consider(obj: str, where: str, data: bytes, path: str) -> None:
        for cert in certificates(data):
            expires = cert.not_valid_after_utc
            if expires - now > SOON:
                continue
            if obj not in soonest or expires < soonest[obj][0]:
                soonest[obj] = (expires, _finding(obj, where, cert, path, now))

    for path, config_map in files.objects(CONFIG_MAPS, "ConfigMap"):
        data = config_map.get("data") or {}
        for key, value in data.items() if isinstance(data, dict) else []:
            if isinstance(value, str) and "BEGIN CERTIFICATE" in value:
                consider(name_of("ConfigMap", config_map), f"key {key}", value.encode(), path)
    for path in files.matching(PEM_FILES):
        consider(f"file/{path}", "file", files.read(path), path)
    return [finding for _expires, finding in soonest.values()]

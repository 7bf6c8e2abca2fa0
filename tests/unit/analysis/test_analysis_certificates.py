from __future__ import annotations

from datetime import timedelta

from kubesim.seed.faults import certificate_pem
from must_gather_api.analysis import certificates
from must_gather_api.analysis.model import Severity
from support.archives import NOW, TOP, files, listed


def test_expired_and_soon_expiring_certificates_the_soonest_per_object() -> None:
    soon = certificate_pem("soon", not_after=NOW + timedelta(days=10, hours=1))
    sooner = certificate_pem("sooner", not_after=NOW + timedelta(days=3, hours=1))
    later = certificate_pem("later", not_after=NOW + timedelta(days=90))
    expired = certificate_pem("old", not_after=NOW - timedelta(days=1))
    config_maps = [
        {
            "metadata": {"namespace": "x", "name": "bundle"},
            "data": {"ca.crt": soon + later, "b.crt": sooner},
        },
        {
            "metadata": {"namespace": "x", "name": "fine"},
            "data": {"ca.crt": later, "other": "text"},
        },
    ]
    found = certificates.analyze(
        files(
            {
                "namespaces/x/core/configmaps.yaml": listed("ConfigMap", config_maps),
                "etc/old.pem": expired,
            }
        ),
        NOW,
    )
    by_object = {f.object: f for f in found}
    assert set(by_object) == {"ConfigMap/x/bundle", f"file/{TOP}/etc/old.pem"}
    bundle = by_object["ConfigMap/x/bundle"]
    assert (bundle.severity, bundle.reason) == (Severity.WARNING, "ExpiresSoon")
    assert bundle.message.startswith("certificate sooner (key b.crt) expires on ")
    assert bundle.message.endswith("in 3 days")
    old = by_object[f"file/{TOP}/etc/old.pem"]
    assert (old.severity, old.reason) == (Severity.ERROR, "Expired")


def test_text_that_only_looks_like_a_certificate() -> None:
    bogus = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
    assert certificates.analyze(files({"a.crt": bogus}), NOW) == []

"""Settings: the old variables keep their names and defaults; a bad value names itself."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from must_gather_api.app import create_app
from must_gather_api.errors import ConfigurationError
from must_gather_api.setting_values import compact_duration
from must_gather_api.settings import (
    AuthMode,
    Settings,
    load_settings,
    request_defaults,
)


def test_old_variables_default_as_before() -> None:
    settings = load_settings({})
    assert settings.listen_address() == ("0.0.0.0", 8080)
    assert settings.db_path == "./gatherings.db"
    assert settings.database_address() == "sqlite+aiosqlite:///./gatherings.db"
    assert settings.must_gather_image == "quay.io/kubev2v/forklift-must-gather"
    assert settings.timeout == timedelta(minutes=20)
    assert settings.archive_filename == "must-gather.tar.gz"
    assert settings.cleanup_max_age is None
    assert settings.debug is False
    assert settings.use_kubeconfig is False
    assert not settings.uses_kubeconfig
    assert settings.api_tls_certificate is None and settings.api_tls_key is None
    assert not settings.tls
    assert settings.auth is AuthMode.KUBERNETES


def test_the_operator_deployment_environment() -> None:
    settings = load_settings(
        {
            "PORT": "8443",
            "API_TLS_CERTIFICATE": "/var/run/secrets/cert/tls.crt",
            "API_TLS_KEY": "/var/run/secrets/cert/tls.key",
            "DB_PATH": "/tmp/gatherings.db",
            "CLEANUP_MAX_AGE": "-1",
            "MUST_GATHER_IMAGE": "quay.io/kubev2v/forklift-must-gather:latest",
            "DEBUG": "true",
            "POD_NAMESPACE": "openshift-mtv",
        }
    )
    assert settings.tls
    assert settings.api_tls_certificate == Path("/var/run/secrets/cert/tls.crt")
    assert settings.listen_address() == ("0.0.0.0", 8443)
    assert settings.database_address() == "sqlite+aiosqlite:////tmp/gatherings.db"
    assert settings.cleanup_max_age is None
    assert settings.debug


@pytest.mark.parametrize(
    ("environment", "variable"),
    [
        ({"PORT": "abc"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"PORT": "host:"}, "PORT"),
        ({"TIMEOUT": "15x"}, "TIMEOUT"),
        ({"TIMEOUT": "7h"}, "TIMEOUT"),
        ({"MAX_TIMEOUT": "soon"}, "MAX_TIMEOUT"),
        ({"CLEANUP_MAX_AGE": "forever"}, "CLEANUP_MAX_AGE"),
        ({"CLEANUP_MAX_AGE": "0"}, "CLEANUP_MAX_AGE"),
        ({"CLEANUP_MAX_AGE": "-5m"}, "CLEANUP_MAX_AGE"),
        ({"ARCHIVE_FILENAME": "a/b"}, "ARCHIVE_FILENAME"),
        ({"ARCHIVE_FILENAME": ".."}, "ARCHIVE_FILENAME"),
        ({"ARCHIVE_FILENAME": "a\nb"}, "ARCHIVE_FILENAME"),
        ({"MAX_CONCURRENT_GATHERINGS": "0"}, "MAX_CONCURRENT_GATHERINGS"),
        ({"MAX_CONCURRENT_GATHERINGS": "many"}, "MAX_CONCURRENT_GATHERINGS"),
        ({"API_TLS_CERTIFICATE": "/tls/cert.pem"}, "API_TLS_CERTIFICATE"),
        ({"API_TLS_KEY": "/tls/key.pem"}, "API_TLS_CERTIFICATE"),
        ({"MUST_GATHER_IMAGE": "--bad"}, "MUST_GATHER_IMAGE"),
        ({"MUST_GATHER_IMAGE": "Upper/Case"}, "MUST_GATHER_IMAGE"),
        ({"ARCHIVE_MAX_TOTAL_BYTES": "lots"}, "ARCHIVE_MAX_TOTAL_BYTES"),
        ({"MAX_ARCHIVE_BYTES": "5GB"}, "MAX_ARCHIVE_BYTES"),
        ({"AUTH": "maybe"}, "AUTH"),
        ({"LIST_SCOPE": "some"}, "LIST_SCOPE"),
        ({"ACCEL_REDIRECT_PREFIX": "_data"}, "ACCEL_REDIRECT_PREFIX"),
        ({"ACCEL_REDIRECT_PREFIX": "/_data"}, "ACCEL_REDIRECT_PREFIX"),
        ({"ACCEL_REDIRECT_PREFIX": "/_data/?x=/"}, "ACCEL_REDIRECT_PREFIX"),
    ],
)
def test_a_bad_value_names_its_variable(environment: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(environment)
    message = caught.value.message
    assert message.startswith(variable), message
    assert "\n" not in message
    assert "Value error" not in message and "settings:" not in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-1", None),
        ("", None),
        (" -1 ", None),
        ("24", timedelta(hours=24)),
        ("1.5", timedelta(hours=1, minutes=30)),
        ("24h", timedelta(hours=24)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
    ],
)
def test_cleanup_max_age(value: str, expected: timedelta | None) -> None:
    assert load_settings({"CLEANUP_MAX_AGE": value}).cleanup_max_age == expected


@pytest.mark.parametrize(
    ("environment", "address"),
    [
        ({"PORT": "8443"}, ("0.0.0.0", 8443)),
        ({"PORT": ":9000"}, ("0.0.0.0", 9000)),
        ({"PORT": "127.0.0.1:9000"}, ("127.0.0.1", 9000)),
        ({"PORT": "[::1]:9000"}, ("::1", 9000)),
        ({"PORT": "9000", "HOST": "127.0.0.1"}, ("127.0.0.1", 9000)),
        ({"PORT": ":9000", "HOST": "::1"}, ("::1", 9000)),
        ({}, ("0.0.0.0", 8080)),
        ({"PORT": ""}, ("0.0.0.0", 8080)),
        ({"API_TLS_CERTIFICATE": "/c.pem", "API_TLS_KEY": "/k.pem"}, ("0.0.0.0", 8443)),
        ({"PORT": "8080", "API_TLS_CERTIFICATE": "/c", "API_TLS_KEY": "/k"}, ("0.0.0.0", 8080)),
    ],
)
def test_port(environment: dict[str, str], address: tuple[str, int]) -> None:
    assert load_settings(environment).listen_address() == address


@pytest.mark.parametrize(
    ("environment", "loopback"),
    [
        ({"HOST": "127.0.0.1"}, True),
        ({"HOST": "localhost"}, True),
        ({"PORT": "[::1]:9000"}, True),
        ({"PORT": "127.0.0.2:9000"}, True),
        ({}, False),
        ({"HOST": "::"}, False),
        ({"HOST": "example.com"}, False),
    ],
)
def test_loopback_only(environment: dict[str, str], loopback: bool) -> None:
    assert load_settings(environment).listens_on_loopback_only() is loopback


def test_empty_tls_paths_mean_no_tls() -> None:
    # The old service's default for both was the empty string.
    settings = load_settings({"API_TLS_CERTIFICATE": "", "API_TLS_KEY": " "})
    assert settings.api_tls_certificate is None and settings.api_tls_key is None
    assert not settings.tls
    assert settings.listen_address() == ("0.0.0.0", 8080)


def test_empty_kubeconfig_and_ca_file_are_unset() -> None:
    settings = load_settings({"KUBECONFIG": "", "SERVER_CA_FILE": ""})
    assert settings.kubeconfig is None and not settings.uses_kubeconfig
    assert settings.server_ca_file is None


@pytest.mark.parametrize(
    ("value", "on"),
    [
        ("true", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("anything", True),
        ("TRUE", True),
        ("", False),
        ("0", False),
        ("false", False),
        ("False", False),
        ("no", False),
        ("off", False),
        (" OFF ", False),
    ],
)
def test_debug_truthiness(value: str, on: bool) -> None:
    assert load_settings({"DEBUG": value}).debug is on
    assert load_settings({"USE_KUBECONFIG": value}).use_kubeconfig is on


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", None), ("0", None), ("1000", 1000), ("500M", 500 * 10**6), ("10Gi", 10 * 2**30)],
)
def test_byte_quantities(value: str, expected: int | None) -> None:
    assert load_settings({"ARCHIVE_MAX_TOTAL_BYTES": value}).archive_max_total_bytes == expected
    assert load_settings({"MAX_ARCHIVE_BYTES": value}).max_archive_bytes == expected


@pytest.mark.parametrize(
    ("db_path", "address"),
    [
        (":memory:", "sqlite+aiosqlite:///file:must-gather-api?mode=memory&cache=shared&uri=true"),
        (
            "file::memory:?cache=shared",
            "sqlite+aiosqlite:///file:must-gather-api?mode=memory&cache=shared&uri=true",
        ),
        ("/var/lib/mga/gatherings.db", "sqlite+aiosqlite:////var/lib/mga/gatherings.db"),
    ],
)
def test_database_address(db_path: str, address: str) -> None:
    assert load_settings({"DB_PATH": db_path}).database_address() == address


def test_database_url_wins_over_db_path() -> None:
    url = "postgresql+asyncpg://mga@db:5432/mga"
    settings = load_settings({"DB_PATH": "/x.db", "DATABASE_URL": url})
    assert settings.database_address() == url


def test_names_are_case_insensitive_and_unknown_variables_ignored() -> None:
    settings = load_settings({"debug": "1", "Timeout": "5m", "HOME": "/root", "PATH": "/bin"})
    assert settings.debug and settings.timeout == timedelta(minutes=5)


def test_allowed_origins_are_split() -> None:
    settings = load_settings({"ALLOWED_ORIGINS": " https://a.example , ,https://b.example"})
    assert settings.allowed_origins == ("https://a.example", "https://b.example")


def test_explicit_mapping_ignores_the_real_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("PORT", "abc")
    monkeypatch.setenv("DEBUG", "true")
    settings = load_settings({})
    assert settings.listen_address() == ("0.0.0.0", 8080)
    assert not settings.debug
    # The model alone never reads the environment either.
    assert not Settings().debug
    with pytest.raises(ConfigurationError, match=r"^PORT"):
        load_settings()


def test_load_settings_reads_the_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("CLEANUP_MAX_AGE", "12h")
    assert load_settings().cleanup_max_age == timedelta(hours=12)


def test_overrides_win() -> None:
    settings = load_settings({"DEBUG": "false"}, debug=True)
    assert settings.debug


# -- read per request ---------------------------------------------------------------------


def test_request_defaults_read_the_environment_at_call_time() -> None:
    settings = load_settings({"MUST_GATHER_IMAGE": "quay.io/a/b:v1", "TIMEOUT": "30m"})
    environ: dict[str, str] = {}
    first = request_defaults(settings, environ=environ)
    assert (first.image, first.timeout) == ("quay.io/a/b:v1", "30m")
    environ.update(MUST_GATHER_IMAGE="quay.io/c/d:v2", TIMEOUT="45m")
    second = request_defaults(settings, environ=environ)
    assert (second.image, second.timeout) == ("quay.io/c/d:v2", "45m")


def test_request_defaults_use_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings({})
    monkeypatch.setenv("TIMEOUT", "2h")
    monkeypatch.setenv("MUST_GATHER_IMAGE", "quay.io/x/y@sha256:" + "a" * 64)
    defaults = request_defaults(settings)
    assert defaults.timeout == "2h"
    assert defaults.image == "quay.io/x/y@sha256:" + "a" * 64


@pytest.mark.parametrize(
    "environ",
    [
        {"MUST_GATHER_IMAGE": "--bad", "TIMEOUT": "15x"},
        {"MUST_GATHER_IMAGE": "has space", "TIMEOUT": "0s"},
        {"MUST_GATHER_IMAGE": "", "TIMEOUT": "7h"},  # past MAX_TIMEOUT
        {"TIMEOUT": "-5m"},
    ],
)
def test_request_defaults_ignore_an_invalid_later_value(
    environ: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings({"MUST_GATHER_IMAGE": "quay.io/a/b:v1", "TIMEOUT": "25m"})
    with caplog.at_level(logging.WARNING, logger="must_gather_api.settings"):
        defaults = request_defaults(settings, environ=environ)
    assert (defaults.image, defaults.timeout) == ("quay.io/a/b:v1", "25m")
    assert "keeping the one from start" in caplog.text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=20), "20m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(hours=6), "6h"),
        (timedelta(0), "0s"),
        (timedelta(milliseconds=1500), "1.5s"),
    ],
)
def test_compact_duration(value: timedelta, text: str) -> None:
    assert compact_duration(value) == text


def test_the_app_factory_refuses_auth_none_off_loopback(tmp_path: Path) -> None:
    exposed = load_settings({}, auth="none", host="0.0.0.0", data_dir=str(tmp_path))
    with pytest.raises(ConfigurationError, match="AUTH=none is only allowed"):
        create_app(exposed)
    loopback = load_settings({}, auth="none", host="127.0.0.1", data_dir=str(tmp_path))
    assert create_app(loopback).title == "must-gather-api"

"""deploy/components/download-proxy on each TLS overlay: nginx takes the service's port,
certificate and probes; the service listens on the pod's loopback and names archives by
the internal location nginx serves from the same data volume, read-only."""

from __future__ import annotations

import re
from typing import Any

import pytest

from deploy.rendering import Render, find

pytestmark = pytest.mark.parametrize("overlay", ["openshift", "kubernetes"])


def containers(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    spec = find(objects, "Deployment", "must-gather-api")["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"]}


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container["env"]}


def nginx_conf(objects: list[dict[str, Any]]) -> str:
    [config] = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("must-gather-api-proxy")
    ]
    text: str = config["data"]["nginx.conf"]
    assert "reload-on-new-certificate.sh" in config["data"]
    return text


def test_nginx_takes_the_port_and_the_certificate(render: Render, overlay: str) -> None:
    objects = render(f"{overlay}+download-proxy")
    pods = containers(objects)
    assert set(pods) == {"must-gather-api", "proxy"}
    app, proxy = pods["must-gather-api"], pods["proxy"]
    [service_port] = find(objects, "Service", "must-gather-api")["spec"]["ports"]
    assert service_port["targetPort"] == "api"
    assert [p["name"] for p in proxy["ports"]] == ["api"]
    assert "api" not in [p["name"] for p in app["ports"]]
    config = nginx_conf(objects)
    listen = re.search(r"listen (\d+) ssl;", config)
    assert listen is not None and int(listen[1]) == proxy["ports"][0]["containerPort"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert app[probe]["httpGet"]["port"] == int(listen[1])
        assert app[probe]["httpGet"]["scheme"] == "HTTPS"
    mounts = {m["name"]: m for m in proxy["volumeMounts"]}
    certificate = mounts["serving-cert"]["mountPath"]
    assert f"ssl_certificate {certificate}/tls.crt;" in config
    assert f"ssl_certificate_key {certificate}/tls.key;" in config


def test_the_service_is_on_loopback_and_names_what_nginx_serves(
    render: Render, overlay: str
) -> None:
    objects = render(f"{overlay}+download-proxy")
    pods = containers(objects)
    env = env_of(pods["must-gather-api"])
    assert env["HOST"] == "127.0.0.1"
    assert env["API_TLS_CERTIFICATE"] == "" and env["API_TLS_KEY"] == ""
    config = nginx_conf(objects)
    assert f"proxy_pass http://127.0.0.1:{env['PORT']};" in config
    [app_port] = pods["must-gather-api"]["ports"]
    assert str(app_port["containerPort"]) == env["PORT"]
    internal = re.search(
        r"location (\S+) \{\s*internal;\s*alias (\S+);\s*\}", config, flags=re.MULTILINE
    )
    assert internal is not None, config
    assert internal[1] == env["ACCEL_REDIRECT_PREFIX"]
    assert internal[2] == env["DATA_DIR"] + "/"
    app_data = {m["name"]: m for m in pods["must-gather-api"]["volumeMounts"]}["data"]
    proxy_data = {m["name"]: m for m in pods["proxy"]["volumeMounts"]}["data"]
    assert proxy_data["mountPath"] == app_data["mountPath"]
    assert proxy_data["readOnly"] is True
    assert pods["proxy"]["securityContext"]["readOnlyRootFilesystem"] is True

"""The kustomize tree under deploy/: every variant renders, every object is valid for
Kubernetes 1.32, and the Deployment carries exactly the settings the service knows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from deploy.rendering import DEPLOY, OVERLAYS, VARIANTS, Render, find, kustomize
from must_gather_api.settings import Settings, load_settings

pytestmark = pytest.mark.kubectl

KUBERNETES_VERSION = "1.32"
# Kinds of the CRDs the overlays use; kubernetes-validate has no schema for them.
CUSTOM_KINDS = {"Route", "ConsolePlugin", "Certificate", "Issuer"}
DATA = "/var/lib/must-gather-api"
POD = "must-gather-api-5d9c7b6f4-x2k8q"  # a pod's name, as the kubelet sets it
# What the manifests set on purpose instead of the default, per variant.
BASE_OVERRIDES = {
    "PORT": "8080",
    "DB_PATH": f"{DATA}/gatherings.db",
    "DATA_DIR": f"{DATA}/data",
    "INSTANCE": "must-gather-api",  # the namespace it is deployed to
    "REPLICA_NAME": POD,  # the pod's name
}
TLS_OVERRIDES = {
    "PORT": "8443",
    "API_TLS_CERTIFICATE": "/var/run/secrets/must-gather-api/serving-cert/tls.crt",
    "API_TLS_KEY": "/var/run/secrets/must-gather-api/serving-cert/tls.key",
}


def deployment(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return find(objects, "Deployment", "must-gather-api")


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [only] = deployment(objects)["spec"]["template"]["spec"]["containers"]
    return dict(only)


def environment_seen_by_the_container(env: list[dict[str, Any]]) -> dict[str, str]:
    """The variables as the kubelet sets them: an optional reference to a ConfigMap or
    Secret that nobody created sets nothing; the pod's namespace is the one it is deployed
    to (must-gather-api, as the overlays set it), its name ``POD``."""
    seen = {}
    for entry in env:
        if "value" in entry:
            seen[entry["name"]] = str(entry["value"])
        elif "fieldRef" in entry["valueFrom"]:
            path = entry["valueFrom"]["fieldRef"]["fieldPath"]
            assert path in ("metadata.namespace", "metadata.name"), entry
            seen[entry["name"]] = "must-gather-api" if path == "metadata.namespace" else POD
        else:
            [reference] = entry["valueFrom"].values()
            assert reference["optional"] is True, entry
    return seen


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_renders_objects_valid_for_kubernetes_1_32(
    render: Render, variant: str
) -> None:
    objects = render(variant)
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "ServiceAccount", "Deployment", "Service", "ClusterRoleBinding"} <= kinds
    for obj in objects:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {e.message} at {e.path}")
        if obj["kind"] not in {"Namespace", "ClusterRole", "ClusterRoleBinding"}:
            assert obj["metadata"].get("namespace") == "must-gather-api", obj["metadata"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_deployment_sets_every_setting_and_nothing_else(render: Render, variant: str) -> None:
    env = container(render(variant))["env"]
    names = [entry["name"] for entry in env]
    assert len(names) == len(set(names)), "a variable is set twice"
    assert set(names) == {name.upper() for name in Settings.model_fields}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_setting_has_its_default_unless_the_variant_means_otherwise(
    render: Render, variant: str
) -> None:
    seen = environment_seen_by_the_container(container(render(variant))["env"])
    expected = dict(BASE_OVERRIDES) | TLS_OVERRIDES
    if variant.endswith("+components"):
        expected["GATHER_CREDENTIALS"] = "service"
        expected["CORES_POD_NAMESPACE"] = "must-gather-api-cores"
    for name, value in expected.items():
        assert seen.pop(name) == value, name
    # The rest, loaded as the service loads them, are the defaults.
    defaults = Settings.model_validate({}).model_dump()
    loaded = load_settings(seen).model_dump()
    different = {name for name in seen if loaded[name.lower()] != defaults[name.lower()]}
    assert not different, f"not the default: {sorted(different)}"


def test_the_base_alone_serves_plain_http_with_the_defaults(tmp_path: Path) -> None:
    objects = kustomize(DEPLOY / "base", tmp_path)
    seen = environment_seen_by_the_container(container(objects)["env"])
    for name, value in BASE_OVERRIDES.items():
        assert seen.pop(name) == value
    settings = load_settings(seen)
    assert not settings.tls and settings.listen_address() == ("0.0.0.0", 8080)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_pod_is_restricted_and_writes_only_to_its_volumes(render: Render, variant: str) -> None:
    objects = render(variant)
    pod = deployment(objects)["spec"]["template"]["spec"]
    main = container(objects)
    assert pod["serviceAccountName"] == "must-gather-api"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = main["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "privileged" not in context and not pod.get("hostNetwork")
    mounts = {m["mountPath"]: m["name"] for m in main["volumeMounts"]}
    assert mounts[DATA] == "data" and mounts["/tmp"] == "tmp"
    seen = environment_seen_by_the_container(main["env"])
    assert seen["DB_PATH"].startswith(f"{DATA}/") and seen["DATA_DIR"].startswith(f"{DATA}/")
    assert main["resources"]["requests"] and main["resources"]["limits"]["memory"]
    grace = load_settings({"SHUTDOWN_GRACE_PERIOD": seen["SHUTDOWN_GRACE_PERIOD"]})
    assert pod["terminationGracePeriodSeconds"] > grace.shutdown_grace_period.total_seconds()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_ask_healthz_and_readyz_over_https_on_the_served_port(
    render: Render, overlay: str
) -> None:
    main = container(render(overlay))
    [port] = main["ports"]
    assert port == {"name": "api", "containerPort": 8443, "protocol": "TCP"}
    assert main["livenessProbe"]["httpGet"] == {
        "path": "/healthz",
        "port": "api",
        "scheme": "HTTPS",
    }
    assert main["readinessProbe"]["httpGet"] == {
        "path": "/readyz",
        "port": "api",
        "scheme": "HTTPS",
    }
    service = find(render(overlay), "Service", "must-gather-api")
    assert service["spec"]["ports"] == [
        {"name": "api", "port": 8443, "targetPort": "api", "protocol": "TCP"}
    ]
    selector = service["spec"]["selector"]
    labels = deployment(render(overlay))["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_in_caller_mode_the_service_may_only_review_tokens_and_access_and_read_namespaces(
    render: Render, overlay: str
) -> None:
    objects = render(overlay)
    assert not [o for o in objects if o["kind"] in {"Role", "RoleBinding"}]
    [role] = [o for o in objects if o["kind"] == "ClusterRole"]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]
    bindings = [o for o in objects if o["kind"] == "ClusterRoleBinding"]
    assert sorted(b["roleRef"]["name"] for b in bindings) == [
        "must-gather-api-namespace-reader",
        "system:auth-delegator",
    ]
    for binding in bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "must-gather-api", "namespace": "must-gather-api"}
        ]


def tls_secret(objects: list[dict[str, Any]]) -> str:
    volumes = deployment(objects)["spec"]["template"]["spec"]["volumes"]
    [secret] = [v["secret"]["secretName"] for v in volumes if "secret" in v]
    return str(secret)


def test_openshift_gets_its_certificate_from_the_service_ca_and_a_reencrypt_route(
    render: Render,
) -> None:
    objects = render("openshift")
    service = find(objects, "Service", "must-gather-api")
    annotation = service["metadata"]["annotations"]
    assert annotation["service.beta.openshift.io/serving-cert-secret-name"] == tls_secret(objects)
    route = find(objects, "Route")
    assert route["apiVersion"] == "route.openshift.io/v1"
    assert route["spec"]["to"] == {"kind": "Service", "name": "must-gather-api", "weight": 100}
    assert route["spec"]["port"] == {"targetPort": "api"}
    assert route["spec"]["tls"]["termination"] == "reencrypt"
    assert route["spec"]["tls"]["insecureEdgeTerminationPolicy"] == "Redirect"


def test_kubernetes_gets_its_certificate_from_cert_manager(render: Render) -> None:
    objects = render("kubernetes")
    certificate = find(objects, "Certificate")
    assert certificate["apiVersion"] == "cert-manager.io/v1"
    spec = certificate["spec"]
    assert spec["secretName"] == tls_secret(objects)
    assert "must-gather-api.must-gather-api.svc" in spec["dnsNames"]
    issuer = find(objects, "Issuer")
    assert spec["issuerRef"] == {
        "group": "cert-manager.io",
        "kind": "Issuer",
        "name": issuer["metadata"]["name"],
    }
    assert issuer["apiVersion"] == "cert-manager.io/v1" and "selfSigned" in issuer["spec"]


def test_the_console_plugin_example_proxies_to_the_service_with_the_users_token(
    render: Render,
) -> None:
    example = yaml.safe_load(
        (DEPLOY / "overlays/openshift/consoleplugin-proxy-example.yaml").read_text()
    )
    assert example["apiVersion"] == "console.openshift.io/v1"
    assert example["kind"] == "ConsolePlugin"
    [entry] = example["spec"]["proxy"]
    assert entry["authorization"] == "UserToken"
    assert entry["endpoint"]["type"] == "Service"
    target = entry["endpoint"]["service"]
    service = find(render("openshift"), "Service", "must-gather-api")
    assert target["name"] == service["metadata"]["name"]
    assert target["namespace"] == service["metadata"]["namespace"]
    assert target["port"] == service["spec"]["ports"][0]["port"]
    # Not applied by the overlay: it would replace the plugin's own ConsolePlugin.
    assert not [o for o in render("openshift") if o["kind"] == "ConsolePlugin"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_components_add_service_credentials_and_a_claim_for_the_data(
    render: Render, overlay: str
) -> None:
    objects = render(f"{overlay}+components")
    claim = find(objects, "PersistentVolumeClaim")
    volumes = deployment(objects)["spec"]["template"]["spec"]["volumes"]
    [data] = [v for v in volumes if v["name"] == "data"]
    assert data == {
        "name": "data",
        "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]},
    }
    role = find(objects, "ClusterRole", "must-gather-api-gather")
    binding = find(objects, "ClusterRoleBinding", "must-gather-api-gather")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    [account] = binding["subjects"]
    assert (account["kind"], account["name"]) == ("ServiceAccount", "must-gather-api")


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_network_policy_admits_only_the_clients_and_reaches_only_the_api_dns_and_database(
    render: Render, variant: str
) -> None:
    objects = render(variant)
    policy = find(objects, "NetworkPolicy", "must-gather-api")
    spec = policy["spec"]
    pod_labels = deployment(objects)["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
    [ingress] = spec["ingress"]
    assert ingress["ports"] == [{"port": "api", "protocol": "TCP"}]
    [named, *_] = ingress["from"]
    [expression] = named["namespaceSelector"]["matchExpressions"]
    assert {"openshift-console", "openshift-mtv"} <= set(expression["values"])
    assert all(
        "podSelector" not in source or source.get("namespaceSelector") for source in ingress["from"]
    )
    ports = {(p["port"], p["protocol"]) for rule in spec["egress"] for p in rule["ports"]}
    assert ports == {
        (443, "TCP"),
        (6443, "TCP"),
        (53, "UDP"),
        (53, "TCP"),
        (5353, "UDP"),
        (5353, "TCP"),
        (5432, "TCP"),
    }
    ports_of_container = {p["name"] for p in container(objects)["ports"]}
    assert "api" in ports_of_container


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_data_volume_holds_the_largest_archive_and_its_work_tree(
    render: Render, variant: str
) -> None:
    objects = render(variant)
    seen = environment_seen_by_the_container(container(objects)["env"])
    largest = load_settings(seen).max_archive_bytes or 0
    volumes = deployment(objects)["spec"]["template"]["spec"]["volumes"]
    [data] = [v for v in volumes if v["name"] == "data"]
    if "emptyDir" in data:
        size = data["emptyDir"]["sizeLimit"]
    else:
        claim = find(objects, "PersistentVolumeClaim", data["persistentVolumeClaim"]["claimName"])
        size = claim["spec"]["resources"]["requests"]["storage"]
    assert size.endswith("Gi")
    # The copied tree and the archive packed from it exist at once.
    assert int(size.removesuffix("Gi")) * 2**30 > 2 * largest

"""The node side of core dumps (deploy/cores, deploy/overlays/openshift/cores) agrees with
the pods cores/nodes.py builds: their namespace admits them, the SCC admits exactly them,
and the service reads, downloads and deletes cores under these roles alone (kubesim
enforces RBAC; its audit log is compared with the roles, both ways)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_asyncio import client, config

from deploy.rendering import Render, find
from deploy.test_service_credentials import NOT_RECORDED, attributes, grants, used_by
from kubesim import kinds
from kubesim.auth import SA_PREFIX
from kubesim.cluster import Cluster
from kubesim.rbac import rule_allows
from must_gather_api.cli import demo_cores
from must_gather_api.cores.nodes import pod_body
from must_gather_api.cores.service import Cores
from must_gather_api.kube.access import ClusterAccess
from must_gather_api.settings import Settings
from support.cores import core_files, crash
from support.service import make_settings

pytestmark = pytest.mark.kubectl

NODE_NAMESPACE = "must-gather-api-cores"
ACCOUNT = {"kind": "ServiceAccount", "name": "must-gather-api", "namespace": "must-gather-api"}
IMAGE = Settings.model_fields["cores_node_image"].default
PODS = [pod_body("worker-0", IMAGE, writable=writable) for writable in (False, True)]
KINDS = {
    "Namespace": kinds.NAMESPACES,
    "Role": kinds.ROLES,
    "RoleBinding": kinds.ROLE_BINDINGS,
    "ClusterRole": kinds.CLUSTER_ROLES,
    "ClusterRoleBinding": kinds.CLUSTER_ROLE_BINDINGS,
}


def env_of(objects: list[dict[str, Any]]) -> dict[str, str]:
    [main] = find(objects, "Deployment", "must-gather-api")["spec"]["template"]["spec"][
        "containers"
    ]
    return {e["name"]: e["value"] for e in main["env"] if "value" in e}


@pytest.mark.parametrize("platform", ["kubernetes", "openshift"])
def test_the_node_side_renders_valid_objects_in_the_node_namespace(
    render: Render, platform: str
) -> None:
    objects = render(f"{platform}:cores")
    for obj in objects:
        if obj["kind"] == "SecurityContextConstraints":
            continue
        try:
            kubernetes_validate.validate(obj, "1.32", strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {e.message} at {e.path}")
        if obj["kind"] in {"Role", "RoleBinding", "NetworkPolicy"}:
            assert obj["metadata"]["namespace"] == NODE_NAMESPACE
        if obj["kind"] in {"RoleBinding", "ClusterRoleBinding"}:
            assert obj["subjects"] == [ACCOUNT]
    namespace = find(objects, "Namespace", NODE_NAMESPACE)
    # hostPath volumes and an added capability: nothing short of privileged admits them.
    assert all(any("hostPath" in v for v in pod["spec"]["volumes"]) for pod in PODS)
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    # The pods need no network at all (exec goes through the API server).
    policy = find(objects, "NetworkPolicy")
    assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    kinds_found = sorted(o["kind"] for o in objects)
    extra = ["ClusterRole", "RoleBinding", "SecurityContextConstraints"]
    assert kinds_found == sorted(
        ["ClusterRole", "ClusterRoleBinding", "Namespace", "NetworkPolicy", "Role", "RoleBinding"]
        + (extra if platform == "openshift" else [])
    )


@pytest.mark.parametrize("overlay", ["kubernetes", "openshift"])
def test_the_component_sends_the_node_pods_to_that_namespace(render: Render, overlay: str) -> None:
    assert env_of(render(f"{overlay}+components"))["CORES_POD_NAMESPACE"] == NODE_NAMESPACE
    # Without it they run beside the service, whose namespace stays restricted.
    assert env_of(render(overlay))["CORES_POD_NAMESPACE"] == "must-gather-api"
    service_namespace = find(render(overlay), "Namespace", "must-gather-api")
    assert service_namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
        "restricted"
    )


def scc_refusals(scc: dict[str, Any], pod: dict[str, Any]) -> list[str]:
    """Why OpenShift's SCC admission would refuse ``pod`` under ``scc`` (what it checks
    of the fields our pods set)."""
    spec = pod["spec"]
    why = []
    for volume in spec.get("volumes") or []:
        [kind] = [key for key in volume if key != "name"]
        if kind not in scc["volumes"]:
            why.append(f"volume type {kind}")
        if kind == "hostPath" and not scc["allowHostDirVolumePlugin"]:
            why.append("host directories")
    for field, allowed in (
        ("hostNetwork", "allowHostNetwork"),
        ("hostPID", "allowHostPID"),
        ("hostIPC", "allowHostIPC"),
    ):
        if spec.get(field) and not scc[allowed]:
            why.append(field)
    pod_context = spec.get("securityContext") or {}
    for container in spec["containers"]:
        context = container.get("securityContext") or {}
        if context.get("privileged") and not scc["allowPrivilegedContainer"]:
            why.append("privileged")
        if context.get("allowPrivilegeEscalation", True) and not scc["allowPrivilegeEscalation"]:
            why.append("privilege escalation")
        capabilities = context.get("capabilities") or {}
        why += [
            f"capability {c}"
            for c in capabilities.get("add") or []
            if c not in scc["allowedCapabilities"]
        ]
        dropped = capabilities.get("drop") or []
        why += [
            f"keeps {c}"
            for c in scc["requiredDropCapabilities"]
            if c not in dropped and "ALL" not in dropped
        ]
        if scc["readOnlyRootFilesystem"] and not context.get("readOnlyRootFilesystem"):
            why.append("writable root filesystem")
        uid = context.get("runAsUser", pod_context.get("runAsUser"))
        if scc["runAsUser"]["type"] == "MustRunAs" and uid != scc["runAsUser"]["uid"]:
            why.append(f"uid {uid}")
        seccomp = context.get("seccompProfile") or pod_context.get("seccompProfile") or {}
        profile = str(seccomp.get("type", ""))
        named = {"RuntimeDefault": "runtime/default"}.get(profile, profile)
        if named not in scc["seccompProfiles"]:
            why.append(f"seccomp {profile}")
        if (
            any(port.get("hostPort") for port in container.get("ports") or [])
            and not scc["allowHostPorts"]
        ):
            why.append("host ports")
    return why


def test_the_scc_admits_the_node_pods_and_allows_nothing_they_do_not_use(render: Render) -> None:
    objects = render("openshift:cores")
    scc = find(objects, "SecurityContextConstraints", "must-gather-api-core-reader")
    for pod in PODS:
        assert scc_refusals(scc, pod) == []
    added = {
        cap
        for pod in PODS
        for c in pod["spec"]["containers"]
        for cap in c["securityContext"]["capabilities"]["add"]
    }
    assert set(scc["allowedCapabilities"]) == added == {"DAC_READ_SEARCH"}
    volume_types = {k for pod in PODS for v in pod["spec"]["volumes"] for k in v if k != "name"}
    assert set(scc["volumes"]) == volume_types == {"hostPath"}
    assert scc["requiredDropCapabilities"] == ["ALL"]
    for flag in (
        "allowPrivilegedContainer",
        "allowPrivilegeEscalation",
        "allowHostNetwork",
        "allowHostPID",
        "allowHostIPC",
        "allowHostPorts",
    ):
        assert scc[flag] is False, flag
    assert scc["users"] == [] and scc["groups"] == []

    # The check itself refuses what the SCC does not allow.
    worse = copy.deepcopy(PODS[0])
    worse["spec"]["hostNetwork"] = True
    context = worse["spec"]["containers"][0]["securityContext"]
    context.update(privileged=True, readOnlyRootFilesystem=False)
    context["capabilities"]["add"].append("SYS_ADMIN")
    worse["spec"]["volumes"].append({"name": "scratch", "emptyDir": {}})
    assert sorted(scc_refusals(scc, worse)) == sorted(
        [
            "hostNetwork",
            "privileged",
            "capability SYS_ADMIN",
            "writable root filesystem",
            "volume type emptyDir",
        ]
    )

    # Granted in the node pods' namespace, to the account that creates them.
    role = find(objects, "ClusterRole", "must-gather-api-core-reader-scc")
    assert role["rules"] == [
        {
            "apiGroups": ["security.openshift.io"],
            "resources": ["securitycontextconstraints"],
            "resourceNames": [scc["metadata"]["name"]],
            "verbs": ["use"],
        }
    ]
    binding = find(objects, "RoleBinding", "must-gather-api-core-reader-scc")
    assert binding["metadata"]["namespace"] == NODE_NAMESPACE
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_the_node_pods_tolerate_control_planes_and_mount_the_cores_read_only() -> None:
    reading, deleting = PODS
    for pod in PODS:
        spec = pod["spec"]
        assert {"operator": "Exists"} in spec["tolerations"]
        assert spec["automountServiceAccountToken"] is False
        assert "serviceAccountName" not in spec  # the namespace's default account, no token
        paths = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"]}
        assert paths["cores"] == "/var/lib/systemd/coredump"
    for pod, writable in ((reading, False), (deleting, True)):
        mounts = {m["name"]: m["readOnly"] for m in pod["spec"]["containers"][0]["volumeMounts"]}
        assert mounts == {"cores": not writable, "journal": True, "runtime": True}


async def service_access(cluster: Cluster, objects: list[dict[str, Any]], tmp_path: Path) -> Any:
    """The service's account, bound by the node side's objects alone."""
    cluster.store.create(kinds.NAMESPACES, {"metadata": {"name": ACCOUNT["namespace"]}})
    cluster.store.create(
        kinds.SERVICE_ACCOUNTS,
        {"metadata": {"name": ACCOUNT["name"], "namespace": ACCOUNT["namespace"]}},
    )
    for obj in objects:
        if obj["kind"] in KINDS:
            cluster.store.create(KINDS[obj["kind"]], copy.deepcopy(obj))
    token = cluster.users.token_for_service_account(ACCOUNT["namespace"], ACCOUNT["name"])
    configuration = client.Configuration()
    kubeconfig = cluster.write_kubeconfig(tmp_path / "service-kubeconfig", token=token)
    await config.load_kube_config(
        config_file=str(kubeconfig), client_configuration=configuration, persist_config=False
    )
    return ClusterAccess(configuration=configuration)


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_the_service_reads_and_deletes_cores_with_exactly_the_node_side_roles(
    render: Render, kubesim: Cluster, tmp_path: Path
) -> None:
    objects = render("kubernetes:cores")
    await crash(kubesim, "default", "crasher-a", "worker-0")
    [path] = core_files(kubesim, "worker-0")
    access = await service_access(kubesim, objects, tmp_path)
    cores = Cores(
        access,
        make_settings(tmp_path, cores_pod_namespace=NODE_NAMESPACE, cores_node_timeout="30s"),
    )

    listing = await cores.list()
    assert listing.unavailable == {}
    [core] = listing.cores
    assert (core["node"], core["pod"]) == ("worker-0", "crasher-a")
    assert await cores.metadata("worker-0", core["id"]) == core
    opened = await cores.open("worker-0", core["id"])
    copied = b"".join([chunk async for chunk in opened.chunks(0, opened.facts.size)])
    assert copied == path.read_bytes()
    await cores.delete("worker-0", core["id"])
    assert not path.exists()

    rules = [
        rule for obj in objects if obj["kind"] in {"Role", "ClusterRole"} for rule in obj["rules"]
    ]
    account = f"{SA_PREFIX}{ACCOUNT['namespace']}:{ACCOUNT['name']}"
    calls = [record for record in kubesim.audit if record.user == account]
    assert calls
    assert {record.namespace for record in calls if record.resource == "pods"} == {NODE_NAMESPACE}
    refused = [r for r in calls if not any(rule_allows(rule, attributes(r)) for rule in rules)]
    assert not refused, f"calls the roles do not grant: {refused}"
    used = set().union(*(used_by(record, rules) for record in calls))
    unused = grants(rules) - used - NOT_RECORDED
    assert not unused, f"the roles grant what the service never did: {sorted(unused)}"


def test_the_demo_gives_the_service_what_deploy_cores_gives_it(render: Render) -> None:
    def shape(obj: dict[str, Any]) -> str:
        metadata = obj["metadata"]
        return json.dumps(
            [
                obj.get("kind", "Namespace"),
                metadata["name"],
                metadata.get("namespace", ""),
                obj.get("rules"),
                obj.get("roleRef"),
                obj.get("subjects"),
            ],
            sort_keys=True,
        )

    rendered = {shape(o) for o in render("kubernetes:cores") if o["kind"] != "NetworkPolicy"}
    assert {shape(obj) for _, obj in demo_cores.node_side_objects()} == rendered
    assert demo_cores.NODE_NAMESPACE == NODE_NAMESPACE

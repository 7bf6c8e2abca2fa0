"""The ClusterRole of the service-credentials component is exactly what the native
executor needs: it runs against kubesim as the service's account, bound to that role
alone (kubesim enforces RBAC), and kubesim's audit log of its calls is compared with the
role's rules, both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client, config

from deploy.rendering import Render, find
from kubesim import kinds
from kubesim.auth import SA_PREFIX, AuditRecord
from kubesim.cluster import Cluster
from kubesim.rbac import Attributes, rule_allows
from must_gather_api.executors.kubernetes import KubernetesExecutor, remove_stale_namespaces
from must_gather_api.kube.access import ClusterAccess
from support.native import FAST, FORKLIFT, Lines, job, leftovers
from support.service import make_settings

pytestmark = [pytest.mark.kubectl, pytest.mark.timeout(180)]

UNPULLABLE = "kubesim.local/must-gather-unpullable:latest"
ACCOUNT = ("must-gather-api", "must-gather-api")
# Granted although kubesim cannot record them: RBAC checks `bind` when a binding to
# cluster-admin is created (kubesim does not check escalation), and a websocket exec is
# authorized as `get` as well as `create` (kubesim records `create`).
NOT_RECORDED = {("bind", "rbac.authorization.k8s.io", "clusterroles"), ("get", "", "pods/exec")}


def attributes(record: AuditRecord) -> Attributes:
    if not record.resource:
        return Attributes(verb=record.verb, path=record.name)
    return Attributes(
        verb=record.verb,
        group=record.group,
        resource=record.resource,
        subresource=record.subresource,
        namespace=record.namespace,
        name=record.name,
    )


def grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(verb, group, resource or URL) for every combination the rules list."""
    found = set()
    for rule in rules:
        for verb in rule["verbs"]:
            for url in rule.get("nonResourceURLs") or []:
                found.add((verb, "", url))
            for group in rule.get("apiGroups") or []:
                for resource in rule.get("resources") or []:
                    found.add((verb, group, resource))
    return found


def used_by(record: AuditRecord, rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    attrs = attributes(record)
    return {
        grant
        for rule in rules
        if rule_allows(rule, attrs)
        for grant in grants([rule])
        if grant[0] == attrs.verb
        and (
            grant[2] == attrs.full_resource
            if attrs.is_resource
            else rule_allows({"verbs": [grant[0]], "nonResourceURLs": [grant[2]]}, attrs)
        )
    }


async def service_account_access(cluster: Cluster, role: dict[str, Any], tmp_path: Path) -> Any:
    namespace, name = ACCOUNT
    cluster.store.create(kinds.NAMESPACES, {"metadata": {"name": namespace}})
    cluster.store.create(
        kinds.SERVICE_ACCOUNTS, {"metadata": {"name": name, "namespace": namespace}}
    )
    cluster.store.create(kinds.CLUSTER_ROLES, {"metadata": dict(role["metadata"]), **role})
    cluster.store.create(
        kinds.CLUSTER_ROLE_BINDINGS,
        {
            "metadata": {"name": "service-credentials"},  # not "must-gather-*": see leftovers()
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role["metadata"]["name"],
            },
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
    )
    token = cluster.users.token_for_service_account(namespace, name)
    configuration = client.Configuration()
    kubeconfig = cluster.write_kubeconfig(tmp_path / "service-kubeconfig", token=token)
    await config.load_kube_config(
        config_file=str(kubeconfig), client_configuration=configuration, persist_config=False
    )
    return ClusterAccess(configuration=configuration), configuration


@pytest.mark.asyncio
async def test_the_executor_needs_exactly_the_service_credentials_role(
    render: Render, kubesim: Cluster, tmp_path: Path
) -> None:
    role = find(render("openshift+components"), "ClusterRole", "must-gather-api-gather")
    rules = role["rules"]
    access, configuration = await service_account_access(kubesim, role, tmp_path)
    settings = make_settings(
        tmp_path,
        gather_credentials="service",
        cluster_request_timeout="10s",
        gather_timeout_margin="60s",
    )
    executor = KubernetesExecutor(access, settings, timings=FAST)
    gatherings = [
        ("the default image", job(tmp_path), True),
        ("an image stream", job(tmp_path, images=(), image_stream="openshift/must-gather"), True),
        (
            "Forklift's targeted command",
            job(
                tmp_path,
                images=(FORKLIFT,),
                command="PLAN=prod-cold-migration NS=openshift-mtv /usr/bin/targeted",
            ),
            True,
        ),
        ("a node name", job(tmp_path, node_name="worker-0"), True),
        (
            "a node selector",
            job(tmp_path, node_selector="kubernetes.io/os=linux"),
            True,
        ),
        ("a run namespace", job(tmp_path, run_namespace="default"), True),
        # Lists the operators' must-gather images; the gathering itself may fail.
        ("all images", job(tmp_path, all_images=True), False),
        # Fails, so the fallback inspect runs with the service's account.
        ("an unpullable image", job(tmp_path, images=(UNPULLABLE,)), False),
    ]
    for what, gathering, succeeds in gatherings:
        output = Lines()
        outcome = await executor.run(gathering, output)
        # The pods' own refusals (a run namespace has no binding for them) are not ours.
        ours = [line for line in output.lines if " POD " not in line]
        assert not [line for line in ours if "forbidden" in line.lower()], f"{what}:\n{output.text}"
        assert "forbidden" not in outcome.error_reason.lower(), what
        if succeeds:
            assert outcome.succeeded, f"{what}: {outcome.error_reason}\n{output.text}"
    api = client.ApiClient(configuration)
    try:
        await remove_stale_namespaces(api, active_ids=set(), instance="default")
    finally:
        await api.close()
    assert leftovers(kubesim) == []

    account = f"{SA_PREFIX}{ACCOUNT[0]}:{ACCOUNT[1]}"
    calls = [record for record in kubesim.audit if record.user == account]
    refused = [
        record for record in calls if not any(rule_allows(r, attributes(record)) for r in rules)
    ]
    assert not refused, f"calls the role does not grant: {refused}"
    used = set().union(*(used_by(record, rules) for record in calls))
    unused = grants(rules) - used - NOT_RECORDED
    assert not unused, f"the role grants what the executor never did: {sorted(unused)}"

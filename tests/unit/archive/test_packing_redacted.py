"""Redaction in the packing pass: one walk, cleaned members, an index of the redacted archive."""

from __future__ import annotations

import gzip
import os
import tarfile
from pathlib import Path

import yaml

from must_gather_api.archive import index
from must_gather_api.gatherings.redacting import redact
from must_gather_api.redaction import DEFAULT_CONFIG, load_config
from support.redacted import every_member, leaks

SECRETS = (b"10.0.0.10", b"10-0-0-10", b"demo.example.com", b"fa:16:3e:aa:bb:cc", b"hunter2")


def sensitive_tree(root: Path) -> Path:
    tree = root / "work"
    image = tree / "quay-io-openshift-origin-must-gather"
    nodes = image / "cluster-scoped-resources" / "core" / "nodes"
    nodes.mkdir(parents=True)
    (nodes / "ip-10-0-0-10.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": "ip-10-0-0-10",
                    "annotations": {"mac": "fa:16:3e:aa:bb:cc"},
                },
                "status": {
                    "addresses": [
                        {"type": "InternalIP", "address": "10.0.0.10"},
                        {"type": "InternalDNS", "address": "ip-10-0-0-10.demo.example.com"},
                    ]
                },
            }
        )
    )
    core = image / "namespaces" / "default" / "core"
    core.mkdir(parents=True)
    (core / "configmaps.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMapList\nitems:\n- metadata: {name: creds}\n"
        "  data: {password: hunter2}\n"
    )
    logs = image / "namespaces" / "default" / "pods" / "web" / "logs"
    logs.mkdir(parents=True)
    (logs / "current.log").write_text("GET from 10.0.0.10 via api.demo.example.com\n" * 1000)
    (logs / "previous.log.gz").write_bytes(gzip.compress(b"old 10.0.0.10\n"))
    os.symlink("../../../../cluster-scoped-resources/core/nodes/ip-10-0-0-10.yaml", logs / "node")
    return tree


def members_of(archive: Path) -> dict[str, bytes]:
    return every_member(archive.read_bytes())


def assert_clean(members: dict[str, bytes]) -> None:
    assert leaks(members, SECRETS) == []


def test_a_redacted_tree_holds_no_original_and_its_index_describes_it(tmp_path: Path) -> None:
    tree = sensitive_tree(tmp_path)
    archive = tmp_path / "archive"
    report = tmp_path / "report.yaml"
    made = redact(
        tree,
        archive,
        partial=tmp_path / "archive.partial",
        limit=None,
        config=DEFAULT_CONFIG,
        report=report,
    )
    members = members_of(archive)
    assert_clean(members)
    image = "must-gather/quay-io-openshift-origin-must-gather"
    node = f"{image}/cluster-scoped-resources/core/nodes/ip-x-ipv4-0000000001-x.yaml"
    assert b"x-mac-0000000001-x" in members[node]
    assert b"ip-x-ipv4-0000000001-x.domain0000000001" in members[node]
    assert f"{image}/namespaces/default/core/configmaps.yaml" not in members
    assert members[f"{image}/namespaces/default/pods/web/logs/previous.log.gz"] == (
        b"old x-ipv4-0000000001-x\n"
    )
    assert members["must-gather/watermark.txt"].endswith(b": redacted\n")
    # The index describes the redacted archive: the same names, sizes and data offsets.
    assert made.packed.index is not None
    by_path = made.packed.index.by_path()
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            entry = by_path[member.name]
            assert entry.size == member.size
            if member.isreg():
                assert entry.offset == member.offset_data
    assert set(by_path) == set(members)
    assert made.packed.entries == len(members)
    assert index.scan(archive).by_path().keys() == by_path.keys()
    # The report stays beside it, private, and maps the replacements back.
    assert report.stat().st_mode & 0o777 == 0o600
    document = yaml.safe_load(report.read_text())
    [ip] = document["replacements"][0]
    assert ip["canonical"] == "10.0.0.10"
    assert {o["original"] for o in ip["occurrences"]} == {"10.0.0.10", "10-0-0-10"}
    assert document["omissions"] == [
        "quay-io-openshift-origin-must-gather/namespaces/default/core/configmaps.yaml"
    ]
    assert document["config"]["obfuscate"][2]["domainNames"] == ["demo.example.com"]


def test_an_archive_made_elsewhere_is_repacked_redacted_without_extracting(
    tmp_path: Path,
) -> None:
    tree = sensitive_tree(tmp_path)
    source = tmp_path / "must-gather.tar.gz"
    with tarfile.open(source, "w:gz") as tar:
        tar.add(tree, arcname="must-gather.local.123")
    out = tmp_path / "out.tar.gz"
    made = redact(
        source,
        out,
        partial=tmp_path / "out.partial",
        limit=None,
        config=DEFAULT_CONFIG,
        report=tmp_path / "report.yaml",
    )
    members = members_of(out)
    assert_clean(members)
    assert "must-gather.local.123/watermark.txt" in members
    # Omissions are relative to the root, as must-gather-clean's are.
    assert made.report.omissions == (
        "quay-io-openshift-origin-must-gather/namespaces/default/core/configmaps.yaml",
    )


def test_static_replacements_that_collide_keep_both_members(tmp_path: Path) -> None:
    tree = tmp_path / "work"
    tree.mkdir()
    (tree / "10.0.0.1.log").write_text("one\n")
    (tree / "10.0.0.2.log").write_text("two\n")
    config = load_config("config:\n  obfuscate:\n    - type: IP\n      target: All\n")
    redact(
        tree,
        tmp_path / "archive",
        partial=tmp_path / "partial",
        limit=None,
        config=config,
        report=tmp_path / "report.yaml",
    )
    members = members_of(tmp_path / "archive")
    assert members["must-gather/xxx.xxx.xxx.xxx.log"] == b"one\n"
    assert members["must-gather/xxx.xxx.xxx.xxx.log.1"] == b"two\n"


def test_without_a_transform_packing_is_unchanged(tmp_path: Path) -> None:
    from must_gather_api.archive.packing import pack

    tree = sensitive_tree(tmp_path)
    pack(tree, tmp_path / "plain", partial=tmp_path / "partial", limit=None)
    members = members_of(tmp_path / "plain")
    assert any(b"10.0.0.10" in data for data in members.values())
    assert "must-gather/watermark.txt" not in members

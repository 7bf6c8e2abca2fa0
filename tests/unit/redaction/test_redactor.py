"""A redaction over members: omissions, streams of any size, compressed members, the report."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import yaml

from must_gather_api.redaction import DEFAULT_CONFIG, Redactor, detect_in_tree, load_config
from must_gather_api.redaction.omission import glob_pattern
from must_gather_api.redaction.streams import BLOCK, MAX_LINE

FIXTURES = Path(__file__).parent / "fixtures"


def opener(data: bytes):  # type: ignore[no-untyped-def]
    return lambda: io.BytesIO(data)


def cleaned(redactor: Redactor, name: str, data: bytes) -> bytes | None:
    sink = io.BytesIO()
    return sink.getvalue() if redactor.contents(name, opener(data), sink) else None


def test_globs_are_gos_filepath_match() -> None:
    pattern = glob_pattern("*/namespaces/openshift-sdn/pods/*/*/*/logs/*.log")
    assert pattern.match("img/namespaces/openshift-sdn/pods/p/c/c/logs/current.log")
    assert not pattern.match("a/img/namespaces/openshift-sdn/pods/p/c/c/logs/current.log")
    assert glob_pattern("*.log").match("x.log")
    assert not glob_pattern("*.log").match("dir/x.log")  # * never crosses a /
    assert glob_pattern("a?[b-c]").match("axc")
    assert not glob_pattern("a[^b]").match("ab")


def test_the_network_example_omits_sdn_logs_secrets_and_config_maps() -> None:
    redactor = Redactor(load_config((FIXTURES / "openshift_omit_network.yaml").read_text()))
    assert (
        redactor.rename("img/namespaces/openshift-sdn/pods/sdn-1/sdn/sdn/logs/current.log") is None
    )
    assert redactor.rename("img/namespaces/openshift-sdn/sdn-1.yaml") is not None
    config_maps = yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMapList", "items": [{"metadata": {"name": "x"}}]}
    ).encode()
    assert cleaned(redactor, "img/namespaces/a/core/configmaps.yaml", config_maps) is None
    secret = json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {}}).encode()
    assert cleaned(redactor, "img/s.json", secret) is None
    csr = b"apiVersion: certificates.k8s.io/v1beta1\nkind: CertificateSigningRequest\n"
    assert cleaned(redactor, "img/csr.yaml", csr) == csr  # another apiVersion: kept
    pods = b"apiVersion: v1\nkind: PodList\nitems: []\n# mentions ConfigMap\n"
    assert cleaned(redactor, "img/pods.yaml", pods) == pods
    report = redactor.report()
    assert report.omissions == (
        "img/namespaces/openshift-sdn/pods/sdn-1/sdn/sdn/logs/current.log",
        "img/namespaces/a/core/configmaps.yaml",
        "img/s.json",
    )


def test_namespace_only_rules_and_symbolic_links() -> None:
    config = load_config(
        "config:\n  omit:\n    - type: Kubernetes\n      kubernetesResource:\n"
        "        namespaces: [openshift-node]\n    - type: SymbolicLink\n"
    )
    redactor = Redactor(config)
    pod = b"apiVersion: v1\nkind: Pod\nmetadata: {namespace: openshift-node}\n"
    assert cleaned(redactor, "p.yaml", pod) is None
    assert cleaned(redactor, "q.yaml", pod.replace(b"openshift-node", b"default")) is not None
    assert redactor.rename("link", symlink=True) is None


def test_long_lines_any_bytes_and_blocks_are_cleaned_with_nothing_lost() -> None:
    redactor = Redactor(DEFAULT_CONFIG)
    line = (b"10.1.2.3 " * (MAX_LINE // 9 + 10)) + b"\xff\xfe not utf-8 \n"
    many = b"".join(b"%d at 10.1.2.3 aa:bb:cc:dd:ee:ff\n" % n for n in range(BLOCK // 20))
    out = cleaned(redactor, "big.log", line + many + b"no newline 10.1.2.3")
    assert out is not None
    assert b"10.1.2.3" not in out
    assert b"aa:bb:cc:dd:ee:ff" not in out
    assert b"\xff\xfe not utf-8 \n" in out
    assert out.count(b"\n") == (line + many).count(b"\n")
    assert out.endswith(b"no newline x-ipv4-0000000001-x")


def test_compressed_members_are_cleaned_inside_and_corrupt_ones_left_out() -> None:
    redactor = Redactor(DEFAULT_CONFIG)
    out = cleaned(redactor, "audit.log.gz", gzip.compress(b"from 10.9.8.7\n"))
    assert out is not None
    assert gzip.decompress(out) == b"from x-ipv4-0000000001-x\n"
    assert cleaned(redactor, "broken.log.gz", b"\x1f\x8b not gzip at all") is None
    assert redactor.rename("nested/archive.tar.gz") is None
    assert dict(redactor.report().uncleaned) == {
        "broken.log.gz": "its compressed data cannot be read",
        "nested/archive.tar.gz": "an archive inside the archive cannot be cleaned",
    }


def test_the_report_read_back_as_the_configuration_replays_the_same_replacements() -> None:
    first = Redactor(DEFAULT_CONFIG, cluster_domains=("demo.example.com",))
    text = "a 10.0.0.5 b 10.0.0.6 c api.demo.example.com d 02:42:ac:11:00:02\n"
    once = first.clean_text(text)
    report = first.report()
    assert report.replaced == 4
    replay = Redactor(load_config(report.to_yaml()))
    assert replay.clean_text(
        "d 02:42:ac:11:00:02 b 10.0.0.6 a 10.0.0.5 c api.demo.example.com\n"
    ) == (
        "d x-mac-0000000001-x b x-ipv4-0000000002-x a x-ipv4-0000000001-x c api.domain0000000001\n"
    )
    assert replay.clean_text("new 10.0.0.7") == "new x-ipv4-0000000003-x"
    assert once == (
        "a x-ipv4-0000000001-x b x-ipv4-0000000002-x c api.domain0000000001 d x-mac-0000000001-x\n"
    )


def test_the_clusters_domain_is_found_in_the_tree(tmp_path: Path) -> None:
    nodes = tmp_path / "img" / "cluster-scoped-resources" / "core" / "nodes"
    nodes.mkdir(parents=True)
    (nodes / "master-0.yaml").write_text(
        yaml.safe_dump(
            {
                "kind": "Node",
                "metadata": {"name": "master-0"},
                "status": {
                    "addresses": [
                        {"type": "InternalIP", "address": "10.0.0.10"},
                        {"type": "InternalDNS", "address": "master-0.demo.example.com"},
                        {"type": "Hostname", "address": "master-0"},
                    ]
                },
            }
        )
    )
    config = tmp_path / "img" / "cluster-scoped-resources" / "config.openshift.io"
    config.mkdir()
    (config / "infrastructures.yaml").write_text(
        "kind: InfrastructureList\nitems:\n- kind: Infrastructure\n"
        "  status: {apiServerURL: 'https://api.other.example.org:6443'}\n"
    )
    assert detect_in_tree(tmp_path) == ("demo.example.com", "other.example.org")

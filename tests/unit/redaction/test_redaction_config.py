"""must-gather-clean's configuration, read as it is; errors name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from must_gather_api.redaction import DEFAULT_CONFIG, ConfigInvalid, load_config
from must_gather_api.redaction.config import (
    ObfuscateType,
    OmitType,
    ReplacementType,
    Target,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_the_schema_examples_load_with_their_defaults() -> None:
    config = load_config((FIXTURES / "schema_examples.yaml").read_text())
    assert [rule.type for rule in config.obfuscate] == [
        ObfuscateType.IP,
        ObfuscateType.MAC,
        ObfuscateType.DOMAIN,
        ObfuscateType.REGEX,
        ObfuscateType.REGEX,
        ObfuscateType.KEYWORDS,
        ObfuscateType.KEYWORDS,
    ]
    mac = config.obfuscate[1]
    # must-gather-clean's defaults: Static, FileContents.
    assert mac.replacement_type is ReplacementType.STATIC
    assert mac.target is Target.FILE_CONTENTS
    assert config.obfuscate[2].domain_names == ("rhcloud.com", "dev.rhcloud.com")
    assert dict(config.obfuscate[5].replacement) == {"hello": "bye", "true": "false"}
    assert [rule.type for rule in config.omit] == [OmitType.KUBERNETES] * 3 + [OmitType.FILE] * 3
    assert config.omit[1].namespaces == ("kube-system",)
    assert config.omit[2].api_version == "certificates.k8s.io/v1"


def test_the_network_example_loads() -> None:
    config = load_config((FIXTURES / "openshift_omit_network.yaml").read_text())
    assert len(config.obfuscate) == 3
    assert config.omit[0].pattern == "*/namespaces/openshift-sdn/pods/*/*/*/logs/*.log"
    assert len(config.omit) == 6


def test_azure_resources_are_refused_naming_the_line() -> None:
    with pytest.raises(ConfigInvalid, match=r"line 16: AzureResources is not supported"):
        load_config((FIXTURES / "openshift_default.yaml").read_text(), source="default.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is empty"),
        ("config: [", "not valid YAML"),
        ("other: 1\n", "line 1: no 'config' key"),
        ("config:\n  obfuscate:\n    - type: IPv9\n", "line 3: type 'IPv9' is not one of"),
        ("config:\n  obfuscate:\n    - replacementType: Static\n", "line 3: .*needs a 'type'"),
        ("config:\n  obfuscate:\n    - type: Domain\n", "line 3: a Domain rule needs"),
        ("config:\n  obfuscate:\n\n    - type: Regex\n      regex: '('\n", "line 4: regex"),
        ("config:\n  obfuscate:\n    - type: Regex\n      regex: 'a*'\n", "empty string"),
        ("config:\n  obfuscate:\n    - type: IP\n      target: Both\n", "target 'Both'"),
        ("config:\n  omit:\n    - type: File\n", "line 3: a File omit rule needs"),
        ("config:\n  omit:\n    - type: Kubernetes\n", "needs 'kubernetesResource'"),
        ("config:\n  obfuscate: {}\n", "line 2: config.obfuscate must be a list"),
    ],
)
def test_errors_name_the_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigInvalid, match=expected):
        load_config(text)


def test_json_is_yaml_too() -> None:
    config = load_config('{"config": {"obfuscate": [{"type": "MAC"}]}}')
    assert config.obfuscate[0].type is ObfuscateType.MAC


def test_the_default_is_openshift_default_in_effect() -> None:
    types = [rule.type for rule in DEFAULT_CONFIG.obfuscate]
    assert types == [ObfuscateType.IP, ObfuscateType.MAC, ObfuscateType.DOMAIN]
    assert all(
        rule.replacement_type is ReplacementType.CONSISTENT for rule in DEFAULT_CONFIG.obfuscate
    )
    assert all(rule.target is Target.ALL for rule in DEFAULT_CONFIG.obfuscate)
    assert {rule.kind for rule in DEFAULT_CONFIG.omit} == {
        "Secret",
        "ConfigMap",
        "CertificateSigningRequest",
        "CertificateSigningRequestList",
        "MachineConfig",
    }


def test_a_configuration_round_trips_through_its_document() -> None:
    import yaml

    config = load_config((FIXTURES / "schema_examples.yaml").read_text())
    again = load_config(yaml.safe_dump(config.to_document()))
    assert again == config
    assert load_config(yaml.safe_dump(DEFAULT_CONFIG.to_document())) == DEFAULT_CONFIG

"""must-gather-clean's configuration, read as it is written, into one frozen value.

The file is must-gather-clean's YAML (or JSON): ``config.obfuscate[]`` (``type`` IP, MAC,
Domain, Keywords, Exact or Regex; ``replacementType`` Static or Consistent; ``target``
FileContents, FilePath or All; ``domainNames``, ``replacement``, ``exactReplacements``,
``regex``) and ``config.omit[]`` (``type`` File with ``pattern``, Kubernetes with
``kubernetesResource`` {kind, apiVersion, namespaces}, SymbolicLink). A report written by a
redaction (``report.yaml``) is a configuration too: its rules carry the ``replacement``
maps that were used, so feeding it back reproduces the same replacements.

One addition: ``clusterDomain: true`` on a Domain rule also obfuscates the base domain of
the gathered cluster, found in the gathered tree (``redaction.domains``).

Every error names the line of the file it comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from must_gather_api.errors import ConfigurationError

__all__ = [
    "DEFAULT_CONFIG",
    "ConfigInvalid",
    "ObfuscateRule",
    "ObfuscateType",
    "OmitRule",
    "OmitType",
    "RedactionConfig",
    "ReplacementType",
    "Target",
    "load_config",
    "load_config_file",
]


class ConfigInvalid(ConfigurationError):
    """The redaction configuration cannot be used; the message names the line."""


class ObfuscateType(StrEnum):
    IP = "IP"
    MAC = "MAC"
    DOMAIN = "Domain"
    KEYWORDS = "Keywords"
    EXACT = "Exact"
    REGEX = "Regex"


class ReplacementType(StrEnum):
    STATIC = "Static"
    CONSISTENT = "Consistent"


class Target(StrEnum):
    FILE_CONTENTS = "FileContents"
    FILE_PATH = "FilePath"
    ALL = "All"

    @property
    def paths(self) -> bool:
        return self is not Target.FILE_CONTENTS

    @property
    def contents(self) -> bool:
        return self is not Target.FILE_PATH


class OmitType(StrEnum):
    FILE = "File"
    KUBERNETES = "Kubernetes"
    SYMBOLIC_LINK = "SymbolicLink"


@dataclass(frozen=True)
class ObfuscateRule:
    type: ObfuscateType
    replacement_type: ReplacementType = ReplacementType.STATIC
    target: Target = Target.FILE_CONTENTS
    domain_names: tuple[str, ...] = ()
    cluster_domain: bool = False
    # Keywords: what replaces each keyword. Other types: replacements already made (a
    # report fed back), reused before new ones are generated.
    replacement: tuple[tuple[str, str], ...] = ()
    exact_replacements: tuple[tuple[str, str], ...] = ()
    regex: str = ""
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class OmitRule:
    type: OmitType
    pattern: str = ""
    kind: str = ""
    api_version: str = ""
    namespaces: tuple[str, ...] = ()
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class RedactionConfig:
    obfuscate: tuple[ObfuscateRule, ...] = ()
    omit: tuple[OmitRule, ...] = ()
    rand_seed: int | None = None

    def to_document(self) -> dict[str, Any]:
        """The configuration in must-gather-clean's form (what ``load_config`` reads)."""
        config: dict[str, Any] = {"obfuscate": [_rule_document(r) for r in self.obfuscate]}
        if self.omit:
            config["omit"] = [_omit_document(r) for r in self.omit]
        if self.rand_seed is not None:
            config["randSeed"] = self.rand_seed
        return {"config": config}


_UNSUPPORTED = {
    "AzureResources": "AzureResources is not supported by this service; remove the rule or "
    "replace it with Keywords or Regex rules"
}


def load_config_file(path: Path, *, name: str = "REDACTION_CONFIG") -> RedactionConfig:
    """``load_config`` of a file; an unreadable file is a ``ConfigInvalid`` too."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigInvalid(f"{name}: {path} cannot be read ({e.__class__.__name__})") from e
    return load_config(text, source=f"{name} ({path})")


def load_config(text: str, *, source: str = "the redaction configuration") -> RedactionConfig:
    """Read must-gather-clean's YAML or JSON; ``ConfigInvalid`` names the line of an error."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigInvalid(f"{source}:{where} is not valid YAML") from e
    reader = _Reader(source)
    if root is None:
        raise ConfigInvalid(f"{source}: is empty; it needs a 'config' key")
    top = reader.mapping(root, "the document")
    if "config" not in top:
        raise ConfigInvalid(f"{source}: line {root.start_mark.line + 1}: no 'config' key")
    config_node = top["config"]
    config = reader.mapping(config_node, "config")
    rules = tuple(
        reader.obfuscate_rule(node)
        for node in reader.sequence(config.get("obfuscate"), "config.obfuscate")
    )
    omits = tuple(
        reader.omit_rule(node) for node in reader.sequence(config.get("omit"), "config.omit")
    )
    seed = config.get("randSeed")
    rand_seed = reader.integer(seed, "randSeed") if seed is not None else None
    return RedactionConfig(obfuscate=rules, omit=omits, rand_seed=rand_seed)


class _Reader:
    """Turns YAML nodes into rules, raising errors that name the line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: yaml.Node, message: str) -> ConfigInvalid:
        return ConfigInvalid(f"{self.source}: line {node.start_mark.line + 1}: {message}")

    def mapping(self, node: yaml.Node, what: str) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        found: dict[str, yaml.Node] = {}
        for key, value in node.value:
            found[self.text(key, "a key")] = value
        return found

    def sequence(self, node: yaml.Node | None, what: str) -> list[yaml.Node]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def text(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            raise self.fail(node, f"{what} must be a string")
        return str(node.value)

    def texts(self, node: yaml.Node | None, what: str) -> tuple[str, ...]:
        return tuple(self.text(item, what) for item in self.sequence(node, what))

    def integer(self, node: yaml.Node, what: str) -> int:
        value = self.text(node, what)
        if not re.fullmatch(r"-?\d+", value):
            raise self.fail(node, f"{what} must be an integer")
        return int(value)

    def boolean(self, node: yaml.Node, what: str) -> bool:
        value = self.text(node, what).lower()
        if value not in {"true", "false"}:
            raise self.fail(node, f"{what} must be true or false")
        return value == "true"

    def choice(self, node: yaml.Node | None, kind: type[StrEnum], what: str, default: Any) -> Any:
        if node is None:
            return default
        value = self.text(node, what)
        if value in _UNSUPPORTED:
            raise self.fail(node, _UNSUPPORTED[value])
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise self.fail(node, f"{what} {value!r} is not one of {allowed}") from None

    def pairs(self, node: yaml.Node | None, what: str) -> tuple[tuple[str, str], ...]:
        if node is None:
            return ()
        return tuple(
            (key, self.text(value, f"{what} values"))
            for key, value in self.mapping(node, what).items()
        )

    def obfuscate_rule(self, node: yaml.Node) -> ObfuscateRule:
        fields = self.mapping(node, "an obfuscate rule")
        if "type" not in fields:
            raise self.fail(node, "an obfuscate rule needs a 'type'")
        kind: ObfuscateType = self.choice(fields["type"], ObfuscateType, "type", None)
        rule = ObfuscateRule(
            type=kind,
            replacement_type=self.choice(
                fields.get("replacementType"),
                ReplacementType,
                "replacementType",
                ReplacementType.STATIC,
            ),
            target=self.choice(fields.get("target"), Target, "target", Target.FILE_CONTENTS),
            domain_names=tuple(
                name.lower().strip(".")
                for name in self.texts(fields.get("domainNames"), "domainNames")
            ),
            cluster_domain=self.boolean(fields["clusterDomain"], "clusterDomain")
            if "clusterDomain" in fields
            else False,
            replacement=self.pairs(fields.get("replacement"), "replacement"),
            exact_replacements=self._exact(fields.get("exactReplacements")),
            regex=self.text(fields["regex"], "regex") if "regex" in fields else "",
            line=node.start_mark.line + 1,
        )
        self._check(rule, node)
        return rule

    def _exact(self, node: yaml.Node | None) -> tuple[tuple[str, str], ...]:
        found = []
        for item in self.sequence(node, "exactReplacements"):
            fields = self.mapping(item, "an exact replacement")
            if "original" not in fields or "replacement" not in fields:
                raise self.fail(item, "an exact replacement needs 'original' and 'replacement'")
            original = self.text(fields["original"], "original")
            if not original:
                raise self.fail(item, "an exact replacement's original cannot be empty")
            found.append((original, self.text(fields["replacement"], "replacement")))
        return tuple(found)

    def _check(self, rule: ObfuscateRule, node: yaml.Node) -> None:
        if rule.type is ObfuscateType.DOMAIN:
            if not rule.domain_names and not rule.cluster_domain:
                raise self.fail(node, "a Domain rule needs 'domainNames' (or clusterDomain: true)")
            for name in rule.domain_names:
                if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", name):
                    raise self.fail(node, f"domainNames: {name!r} is not a domain name")
        elif rule.type is ObfuscateType.REGEX:
            if not rule.regex:
                raise self.fail(node, "a Regex rule needs 'regex'")
            try:
                pattern = re.compile(rule.regex)
            except re.error as e:
                raise self.fail(node, f"regex {rule.regex!r} is not valid: {e}") from e
            if pattern.match(""):
                raise self.fail(node, f"regex {rule.regex!r} matches the empty string")
        elif rule.type is ObfuscateType.KEYWORDS:
            if not rule.replacement:
                raise self.fail(node, "a Keywords rule needs a 'replacement' mapping")
            if any(not keyword for keyword, _ in rule.replacement):
                raise self.fail(node, "a Keywords rule cannot replace the empty string")
        elif rule.type is ObfuscateType.EXACT and not rule.exact_replacements:
            raise self.fail(node, "an Exact rule needs 'exactReplacements'")

    def omit_rule(self, node: yaml.Node) -> OmitRule:
        fields = self.mapping(node, "an omit rule")
        if "type" not in fields:
            raise self.fail(node, "an omit rule needs a 'type'")
        kind: OmitType = self.choice(fields["type"], OmitType, "type", None)
        line = node.start_mark.line + 1
        if kind is OmitType.FILE:
            pattern = self.text(fields["pattern"], "pattern") if "pattern" in fields else ""
            if not pattern:
                raise self.fail(node, "a File omit rule needs a 'pattern'")
            return OmitRule(type=kind, pattern=pattern, line=line)
        if kind is OmitType.KUBERNETES:
            if "kubernetesResource" not in fields:
                raise self.fail(node, "a Kubernetes omit rule needs 'kubernetesResource'")
            resource = self.mapping(fields["kubernetesResource"], "kubernetesResource")
            rule = OmitRule(
                type=kind,
                kind=self.text(resource["kind"], "kind") if "kind" in resource else "",
                api_version=self.text(resource["apiVersion"], "apiVersion")
                if "apiVersion" in resource
                else "",
                namespaces=self.texts(resource.get("namespaces"), "namespaces"),
                line=line,
            )
            if not rule.kind and not rule.namespaces:
                raise self.fail(node, "kubernetesResource needs a 'kind' or 'namespaces'")
            return rule
        return OmitRule(type=kind, line=line)


def _rule_document(rule: ObfuscateRule) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": rule.type.value,
        "replacementType": rule.replacement_type.value,
        "target": rule.target.value,
    }
    if rule.domain_names:
        document["domainNames"] = list(rule.domain_names)
    if rule.cluster_domain:
        document["clusterDomain"] = True
    if rule.regex:
        document["regex"] = rule.regex
    if rule.exact_replacements:
        document["exactReplacements"] = [
            {"original": original, "replacement": replacement}
            for original, replacement in rule.exact_replacements
        ]
    if rule.replacement:
        document["replacement"] = dict(rule.replacement)
    return document


def _omit_document(rule: OmitRule) -> dict[str, Any]:
    document: dict[str, Any] = {"type": rule.type.value}
    if rule.type is OmitType.FILE:
        document["pattern"] = rule.pattern
    elif rule.type is OmitType.KUBERNETES:
        resource: dict[str, Any] = {}
        if rule.kind:
            resource["kind"] = rule.kind
        if rule.api_version:
            resource["apiVersion"] = rule.api_version
        if rule.namespaces:
            resource["namespaces"] = list(rule.namespaces)
        document["kubernetesResource"] = resource
    return document


_CONSISTENT_ALL = {"replacement_type": ReplacementType.CONSISTENT, "target": Target.ALL}

DEFAULT_CONFIG = RedactionConfig(
    obfuscate=(
        ObfuscateRule(type=ObfuscateType.IP, **_CONSISTENT_ALL),  # type: ignore[arg-type]
        ObfuscateRule(type=ObfuscateType.MAC, **_CONSISTENT_ALL),  # type: ignore[arg-type]
        ObfuscateRule(
            type=ObfuscateType.DOMAIN,
            cluster_domain=True,
            **_CONSISTENT_ALL,  # type: ignore[arg-type]
        ),
    ),
    omit=(
        OmitRule(type=OmitType.KUBERNETES, kind="Secret"),
        OmitRule(type=OmitType.KUBERNETES, kind="ConfigMap"),
        OmitRule(
            type=OmitType.KUBERNETES,
            kind="CertificateSigningRequest",
            api_version="certificates.k8s.io/v1",
        ),
        OmitRule(
            type=OmitType.KUBERNETES,
            kind="CertificateSigningRequestList",
            api_version="certificates.k8s.io/v1",
        ),
        OmitRule(
            type=OmitType.KUBERNETES,
            kind="MachineConfig",
            api_version="machineconfiguration.openshift.io/v1",
        ),
    ),
)
"""must-gather-clean's ``openshift_default.yaml`` in effect: IPs, MACs and the cluster's
domain (found in the gathered tree, instead of a fixed list), all Consistent in paths and
contents; Secrets, ConfigMaps, CertificateSigningRequests and MachineConfigs left out."""

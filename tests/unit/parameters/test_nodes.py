"""Node parameters: node-name (a DNS-1123 subdomain) and node-selector (equality labels)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from must_gather_api.parameters import format_node_selector, node_name, node_selector

PROPERTY = settings(max_examples=200, deadline=None)
CONTROLS = st.sampled_from(["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x85", "\u2028", "\u202e"])
DNS_LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)
DNS_SUBDOMAIN = st.lists(DNS_LABEL, min_size=1, max_size=4).map(".".join)
LABEL_NAME = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?", fullmatch=True)


def rejected(validator: object, value: str) -> str:
    """The message of the ValueError ``validator(value)`` raises; checks it is safe to log."""
    assert callable(validator)
    with pytest.raises(ValueError) as caught:
        validator(value)
    message = str(caught.value)
    assert message.isprintable(), message
    return message


def insert(text: str, junk: str, data: st.DataObject) -> str:
    position = data.draw(st.integers(0, len(text)))
    return text[:position] + junk + text[position:]


@pytest.mark.parametrize(
    ("value", "useful"),
    [
        ("", "must not be empty"),
        ("Worker-1", "DNS-1123 subdomain"),
        ("-worker", "DNS-1123 subdomain"),
        ("worker-", "DNS-1123 subdomain"),
        ("a..b", "DNS-1123 subdomain"),
        ("a/b", "DNS-1123 subdomain"),
        ("a b", "whitespace"),
        ("a" * 254, "at most 253"),
    ],
)
def test_node_name_rejections_say_why(value: str, useful: str) -> None:
    assert useful in rejected(node_name, value)


@PROPERTY
@given(DNS_SUBDOMAIN)
def test_dns_subdomains_are_node_names(value: str) -> None:
    assume(len(value) <= 253)
    assert node_name(node_name(value)) == value


@PROPERTY
@given(DNS_SUBDOMAIN, st.one_of(CONTROLS, st.sampled_from(["A", " ", "_", "/", "%"])), st.data())
def test_node_names_with_other_characters_are_rejected(
    value: str, junk: str, data: st.DataObject
) -> None:
    rejected(node_name, insert(value, junk, data))


def test_node_selector_examples() -> None:
    assert node_selector("node-role.kubernetes.io/worker=") == {
        "node-role.kubernetes.io/worker": ""
    }
    assert node_selector("a=b, zone == eu-1") == {"a": "b", "zone": "eu-1"}


@pytest.mark.parametrize(
    ("value", "useful"),
    [
        ("", "must not be empty"),
        ("a", "has no '='"),
        ("a=b,", "has no '='"),
        ("a!=b", "only equality"),
        ("a=b,a=c", 'label "a" more than once'),
        ("-a=b", "not a valid label key"),
        ("Example.COM/a=b", "not a valid label key prefix"),
        ("a/b/c=d", "not a valid label key prefix"),
        ("a=" + "v" * 64, "not a valid label value"),
        ("a=b c", "not a valid label value"),
        ("a=b\n", "not a valid label value"),
        ("k" * 64 + "=v", "not a valid label key"),
    ],
)
def test_node_selector_rejections_say_why(value: str, useful: str) -> None:
    assert useful in rejected(node_selector, value)


LABEL_KEYS = st.tuples(st.one_of(st.just(""), DNS_SUBDOMAIN.map(lambda p: p + "/")), LABEL_NAME)
LABELS = st.dictionaries(
    LABEL_KEYS.map("".join), st.one_of(st.just(""), LABEL_NAME), min_size=1, max_size=5
)


@PROPERTY
@given(LABELS)
def test_label_maps_round_trip(labels: dict[str, str]) -> None:
    parsed = node_selector(format_node_selector(labels))
    assert parsed == labels
    assert node_selector(format_node_selector(parsed)) == parsed


@PROPERTY
@given(LABELS, st.one_of(CONTROLS, st.sampled_from(["!", "(", "@", "é"])), st.data())
def test_selectors_with_other_characters_are_rejected(
    labels: dict[str, str], junk: str, data: st.DataObject
) -> None:
    text = format_node_selector(labels)
    position = data.draw(st.integers(0, len(text)))
    rejected(node_selector, text[:position] + junk + text[position:])

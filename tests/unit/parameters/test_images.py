"""Image references (distribution/reference grammar) and image-stream references."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from must_gather_api.parameters import ImageStreamRef, image, image_stream

PROPERTY = settings(max_examples=200, deadline=None)
CONTROLS = st.sampled_from(["\x00", "\n", "\r", "\t", " ", "\x1b", "\x7f", "\u2028", "\u202e"])
SHA = "0123456789abcdef" * 4

COMPONENT = st.from_regex(r"[a-z0-9]{1,6}(([._]|__|-{1,3})[a-z0-9]{1,6}){0,2}", fullmatch=True)
DOMAIN_LABEL = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", fullmatch=True)
HOSTS = st.one_of(
    st.just("localhost"),
    st.lists(DOMAIN_LABEL, min_size=2, max_size=3).map(".".join),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
DOMAINS = st.tuples(HOSTS, st.one_of(st.just(""), st.integers(1, 65535).map(":{}".format)))
TAGS = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
DIGESTS = st.one_of(
    st.text("0123456789abcdef", min_size=64, max_size=64).map("sha256:{}".format),
    st.text("0123456789abcdef", min_size=128, max_size=128).map("sha512:{}".format),
    st.from_regex(r"[a-z]{2,6}\+[a-z]{2,6}:[0-9a-fA-F]{32,40}", fullmatch=True),
)


@st.composite
def references(draw: st.DrawFn) -> str:
    domain = draw(st.one_of(st.just(""), DOMAINS.map(lambda d: d[0] + d[1] + "/")))
    path = "/".join(draw(st.lists(COMPONENT, min_size=1, max_size=4)))
    tag = draw(st.one_of(st.just(""), TAGS.map(":{}".format)))
    digest = draw(st.one_of(st.just(""), DIGESTS.map("@{}".format)))
    assume(len(domain + path) <= 255)
    return domain + path + tag + digest


@pytest.mark.parametrize(
    "value",
    [
        "quay.io/kubev2v/forklift-must-gather:latest",
        "registry.redhat.io/openshift4/ose-must-gather",
        "busybox",
        "library/busybox:1.36",
        "localhost/gather",
        "localhost:5000/team/gather:v1.2_rc-3",
        "[fd00::1]:5000/gather",
        "[::1]/gather@sha256:" + SHA,
        "quay.io/org/gather:v1@sha256:" + SHA,
        "Registry.Example.COM/org/gather",
        "a__b/c---d/e.f_g",
        "example.com/" + "a" * 243,
    ],
)
def test_image_accepts_references(value: str) -> None:
    assert image(value) == value


@pytest.mark.parametrize(
    ("value", "useful"),
    [
        ("", "must not be empty"),
        ("--help", "starts with '-'"),
        ("-quay.io/x", "starts with '-'"),
        ("quay.io/x y", "contains whitespace"),
        ("quay.io/x\n--privileged", 'contains whitespace ("\\n")'),
        ("quay.io/x\x1b", 'non-printable character ("\\x1b")'),
        ("quay.io/Org/gather", 'invalid path component "Org"'),
        ("quay.io/org/Gather", 'invalid path component "Gather"'),
        ("quay.io//gather", "empty path component"),
        ("quay.io/org/", "empty path component"),
        ("quay.io/a..b", 'invalid path component "a..b"'),
        ("quay.io/_a", 'invalid path component "_a"'),
        ("quay.io/a-", 'invalid path component "a-"'),
        ("quay.io/a___b", 'invalid path component "a___b"'),
        ("quay.io/x:", 'invalid tag ""'),
        ("quay.io/x:-v1", 'invalid tag "-v1"'),
        ("quay.io/x:" + "t" * 129, "1 to 128"),
        ("quay.io/x@sha256:abc", 'invalid digest "sha256:abc"'),
        ("quay.io/x@sha256:" + SHA.upper(), "invalid digest"),
        ("quay.io/x@md5:" + "0" * 31, "invalid digest"),
        ("quay.io/x@", "invalid digest"),
        (":v1", "has no image name"),
        ("@sha256:" + SHA, "has no image name"),
        ("quay.io:0/x", 'invalid registry port ":0"'),
        ("quay.io:65536/x", 'invalid registry port ":65536"'),
        ("quay.io:/x", 'invalid registry port ":"'),
        ("[fd00::zz]/x", "invalid registry"),
        ("Bad_Registry/x", "invalid first component"),
        ("[fd00:::1:2:3:4:5:6:7]/x", "invalid IPv6 registry address"),
        ("-x.io/x", "starts with '-'"),
        ("exa_mple.com:80/x", "invalid registry"),
        ("example.com/" + "a" * 244, "at most 255"),
    ],
)
def test_image_rejections_say_why(value: str, useful: str) -> None:
    with pytest.raises(ValueError) as caught:
        image(value)
    message = str(caught.value)
    assert useful in message
    assert message.isprintable()


@PROPERTY
@given(references())
def test_generated_references_are_accepted_unchanged(value: str) -> None:
    assert image(value) == value
    assert image(image(value)) == value


@PROPERTY
@given(references(), CONTROLS, st.data())
def test_references_with_whitespace_or_controls_are_rejected(
    value: str, junk: str, data: st.DataObject
) -> None:
    position = data.draw(st.integers(0, len(value)))
    with pytest.raises(ValueError, match="contains"):
        image(value[:position] + junk + value[position:])


@PROPERTY
@given(references())
def test_references_starting_with_a_dash_are_rejected(value: str) -> None:
    with pytest.raises(ValueError, match="starts with '-'"):
        image("-" + value)


@PROPERTY
@given(st.lists(COMPONENT, min_size=2, max_size=4), st.data())
def test_uppercase_in_the_path_is_rejected(parts: list[str], data: st.DataObject) -> None:
    index = data.draw(st.integers(1, len(parts) - 1))
    parts[index] = parts[index].upper()
    assume(parts[index] != parts[index].lower())
    with pytest.raises(ValueError, match="invalid path component"):
        image("quay.io/" + "/".join(parts))


@PROPERTY
@given(st.text(max_size=60))
def test_any_text_is_accepted_or_rejected_with_value_error(value: str) -> None:
    try:
        assert image(value) == value
    except ValueError as e:
        assert str(e).isprintable()


def test_image_stream_forms() -> None:
    assert image_stream("openshift/must-gather") == ImageStreamRef("openshift", "must-gather")
    ref = image_stream("openshift-cnv/cnv.must-gather:v4.16")
    assert ref == ImageStreamRef(namespace="openshift-cnv", name="cnv.must-gather", tag="v4.16")
    assert str(ref) == "openshift-cnv/cnv.must-gather:v4.16"


@pytest.mark.parametrize(
    ("value", "useful"),
    [
        ("", "must not be empty"),
        ("must-gather", "has no namespace"),
        ("/must-gather", '"" is not a valid namespace'),
        ("Openshift/x", '"Openshift" is not a valid namespace'),
        ("a.b/x", "DNS-1123 label"),
        ("n" * 64 + "/x", "at most 63"),
        ("ns/", '"" is not a valid image stream name'),
        ("ns/a/b", "image stream name"),
        ("ns/X", "DNS-1123 subdomain"),
        ("ns/x:", 'invalid tag ""'),
        ("ns/x:.t", 'invalid tag ".t"'),
        ("ns/x y", "whitespace"),
        ("ns/x\x00", "non-printable"),
    ],
)
def test_image_stream_rejections_say_why(value: str, useful: str) -> None:
    with pytest.raises(ValueError) as caught:
        image_stream(value)
    assert useful in str(caught.value)


NAMESPACES = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?", fullmatch=True)
STREAM_NAMES = st.lists(NAMESPACES, min_size=1, max_size=3).map(".".join)


@PROPERTY
@given(NAMESPACES, STREAM_NAMES, st.one_of(st.none(), TAGS))
def test_image_stream_references_round_trip(namespace: str, name: str, tag: str | None) -> None:
    text = f"{namespace}/{name}" + ("" if tag is None else f":{tag}")
    ref = image_stream(text)
    assert ref == ImageStreamRef(namespace, name, tag or "latest")
    assert image_stream(str(ref)) == ref


@PROPERTY
@given(NAMESPACES, STREAM_NAMES, CONTROLS, st.data())
def test_image_streams_with_whitespace_or_controls_are_rejected(
    namespace: str, name: str, junk: str, data: st.DataObject
) -> None:
    text = f"{namespace}/{name}"
    position = data.draw(st.integers(0, len(text)))
    with pytest.raises(ValueError):
        image_stream(text[:position] + junk + text[position:])

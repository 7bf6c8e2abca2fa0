"""The command parameter: shell-like splitting into env and argv, and quoting it back."""

from __future__ import annotations

import shlex
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from must_gather_api.parameters import COMMAND_MAX, Command, parse_command

PROPERTY = settings(max_examples=200, deadline=None)
ENV_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
# Words may hold anything but the control characters parse_command refuses.
WORD_TEXT = st.text(
    st.characters(codec="utf-8").filter(lambda c: unicodedata.category(c) != "Cc" or c in "\t\n"),
    max_size=20,
)


@pytest.mark.parametrize(
    ("value", "env", "argv"),
    [
        ("PLAN=plan1 /usr/bin/targeted", [("PLAN", "plan1")], ["/usr/bin/targeted"]),
        ("VM=my-vm /usr/bin/targeted", [("VM", "my-vm")], ["/usr/bin/targeted"]),
        ("/usr/bin/gather", [], ["/usr/bin/gather"]),
        ("  gather  --since 2h ", [], ["gather", "--since", "2h"]),
        ("A=1 B= C='x y' run", [("A", "1"), ("B", ""), ("C", "x y")], ["run"]),
        ("A=1 A=2 run", [("A", "1"), ("A", "2")], ["run"]),
        ("_X=a=b run", [("_X", "a=b")], ["run"]),
        ("A=1 run B=2", [("A", "1")], ["run", "B=2"]),
        ("'A=1' run", [], ["A=1", "run"]),
        ('"A"=1 run', [], ["A=1", "run"]),
        ("A\\=1 run", [], ["A=1", "run"]),
        ("1A=x run", [], ["1A=x", "run"]),
        ("A-B=x run", [], ["A-B=x", "run"]),
        ("echo 'it''s' \"a \\\"q\\\" \\$x\"", [], ["echo", "its", 'a "q" \\$x']),
        ("echo # not a comment", [], ["echo", "#", "not", "a", "comment"]),
        ("echo ''", [], ["echo", ""]),
        ("bash -c 'line 1\nline 2'", [], ["bash", "-c", "line 1\nline 2"]),
        ("a\tb\nc", [], ["a", "b", "c"]),
        (
            "echo; rm -rf / $(id) `id` | cat",
            [],
            ["echo;", "rm", "-rf", "/", "$(id)", "`id`", "|", "cat"],
        ),
    ],
)
def test_parse_command(value: str, env: list[tuple[str, str]], argv: list[str]) -> None:
    command = parse_command(value)
    assert command == Command(env=tuple(env), argv=tuple(argv))
    assert parse_command(command.as_shell()) == command


@pytest.mark.parametrize(
    ("value", "useful"),
    [
        ("", "must not be empty"),
        ("   \t\n ", "must not be empty"),
        ("echo 'x", "has an unclosed ' quote"),
        ('echo "x', 'has an unclosed " quote'),
        ("echo x\\", "ends in a lone backslash"),
        ('echo "x\\', "ends in a backslash inside double quotes"),
        ("PLAN=plan1", "only sets environment variables"),
        ("A=1 B=2  ", "only sets environment variables"),
        ("echo a\x00b", "NUL byte"),
        ("echo \x1b[2J", 'control character "\\x1b"'),
        ("echo a\rb", 'control character "\\r"'),
        ("x" * (COMMAND_MAX + 1), f"at most {COMMAND_MAX}"),
    ],
)
def test_parse_command_rejections_say_why(value: str, useful: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_command(value)
    message = str(caught.value)
    assert useful in message
    assert message.isprintable()
    assert "quotes must be balanced" in message or "quote" not in useful


def test_as_shell_quotes_every_word() -> None:
    command = Command(env=(("PLAN", "my plan; rm -rf /"),), argv=("/usr/bin/targeted", "$(id)"))
    assert command.as_shell() == "PLAN='my plan; rm -rf /' /usr/bin/targeted '$(id)'"
    assert shlex.split(command.as_shell()) == [
        "PLAN=my plan; rm -rf /",
        "/usr/bin/targeted",
        "$(id)",
    ]


def test_as_shell_keeps_a_first_word_that_looks_like_an_assignment_a_word() -> None:
    command = Command(env=(), argv=("A=1", "run"))
    assert command.as_shell() == "'A=1' run"
    assert parse_command(command.as_shell()) == command


def test_commands_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match="at least one word"):
        Command(env=(("A", "1"),), argv=())
    with pytest.raises(ValueError, match="not an environment variable name"):
        Command(env=(("1A", "x"),), argv=("run",))


@PROPERTY
@given(
    st.lists(st.tuples(ENV_NAMES, WORD_TEXT), max_size=4),
    st.lists(WORD_TEXT, min_size=1, max_size=6),
)
def test_as_shell_round_trips(env: list[tuple[str, str]], argv: list[str]) -> None:
    command = Command(env=tuple(env), argv=tuple(argv))
    assert parse_command(command.as_shell()) == command


SHELLISH = st.text(st.sampled_from(list("ab=_A \t\n'\"\\#$;")), max_size=30)


@PROPERTY
@given(SHELLISH)
def test_words_split_as_shlex_splits_them(value: str) -> None:
    try:
        expected = shlex.split(value, comments=False, posix=True)
    except ValueError:
        with pytest.raises(ValueError, match="quotes must be balanced"):
            parse_command(value)
        return
    try:
        command = parse_command(value)
    except ValueError as e:
        assert "only sets environment variables" in str(e) or "must not be empty" in str(e)
        return
    assert [f"{name}={text}" for name, text in command.env] + list(command.argv) == expected


@PROPERTY
@given(st.text(max_size=80))
def test_any_text_is_parsed_or_rejected_with_value_error(value: str) -> None:
    try:
        command = parse_command(value)
    except ValueError as e:
        assert str(e).isprintable()
        assert len(str(e)) < 1500
    else:
        assert parse_command(command.as_shell()) == command


@PROPERTY
@given(st.lists(WORD_TEXT, min_size=1, max_size=3), st.sampled_from(["\x00", "\x1b", "\r", "\x7f"]))
def test_control_characters_are_rejected(argv: list[str], junk: str) -> None:
    text = Command(env=(), argv=tuple(argv)).as_shell()
    with pytest.raises(ValueError, match=r"NUL|control character"):
        parse_command(text + junk)

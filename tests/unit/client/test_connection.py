"""Where the client connects, and which token it sends: options, environment, kubeconfig."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from must_gather_api.client.connection import kubeconfig_token, resolve
from must_gather_api.client.errors import UsageError


def write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


def config(current: str, *users: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "current-context": current,
        "contexts": [{"name": name, "context": {"user": f"{name}-user"}} for name, _ in users],
        "users": [{"name": f"{name}-user", "user": user} for name, user in users],
    }


def test_the_option_wins_over_the_environment_and_the_kubeconfig(tmp_path: Path) -> None:
    write(tmp_path / ".kube/config", config("a", ("a", {"token": "from-kubeconfig"})))
    environ = {"HOME": str(tmp_path), "MUST_GATHER_API_TOKEN": "from-env"}
    given = resolve(
        server="https://s", token="given", ca_file=None, insecure=False, environ=environ
    )
    assert (given.token, given.token_source) == ("given", "--token")
    env = resolve(server="https://s", token=None, ca_file=None, insecure=False, environ=environ)
    assert (env.token, env.token_source) == ("from-env", "MUST_GATHER_API_TOKEN")
    del environ["MUST_GATHER_API_TOKEN"]
    kube = resolve(server="https://s", token=None, ca_file=None, insecure=False, environ=environ)
    assert (kube.token, kube.token_source) == ("from-kubeconfig", "kubeconfig context 'a'")
    assert "from-kubeconfig" not in repr(kube)


def test_kubeconfig_files_merge_as_kubectl_merges_them(tmp_path: Path) -> None:
    first = write(tmp_path / "one", {"current-context": "b"})
    second = write(
        tmp_path / "two",
        config("a", ("a", {"token": "token-a"}), ("b", {"tokenFile": str(tmp_path / "t")})),
    )
    (tmp_path / "t").write_text("token-b\n")
    environ = {"KUBECONFIG": f"{first}:{tmp_path / 'missing'}:{second}"}
    assert kubeconfig_token(environ) == ("token-b", "kubeconfig context 'b'")


def test_no_token_anywhere_is_no_token(tmp_path: Path) -> None:
    assert kubeconfig_token({"HOME": str(tmp_path)}) == (None, "")
    write(tmp_path / "c", config("a", ("a", {"exec": {"command": "oc"}})))
    assert kubeconfig_token({"KUBECONFIG": str(tmp_path / "c")}) == (None, "")


def test_a_broken_kubeconfig_says_which_file(tmp_path: Path) -> None:
    (tmp_path / "bad").write_text("users: [\n")
    with pytest.raises(UsageError, match=r"kubeconfig .*bad is not valid YAML"):
        kubeconfig_token({"KUBECONFIG": str(tmp_path / "bad")})


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("", "no server given"),
        ("must-gather.example.com", "is not an http:// or https:// URL"),
        ("ftp://host", "is not an http:// or https:// URL"),
    ],
)
def test_the_server_must_be_a_url(server: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolve(server=server, token=None, ca_file=None, insecure=False, environ={"HOME": "/x"})


def test_the_server_comes_from_the_environment_without_a_trailing_slash() -> None:
    environ = {"MUST_GATHER_API_URL": "https://host:8443/", "HOME": "/nonexistent"}
    connection = resolve(server=None, token=None, ca_file=None, insecure=False, environ=environ)
    assert connection.server == "https://host:8443"
    assert "authorization" not in connection.headers()


def test_trust_options(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path)}
    insecure = resolve(server="https://s", token=None, ca_file=None, insecure=True, environ=environ)
    assert insecure.verify is False
    with pytest.raises(UsageError, match="not both"):
        resolve(server="https://s", token=None, ca_file=tmp_path, insecure=True, environ=environ)
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    with pytest.raises(UsageError, match="not a readable PEM CA bundle"):
        resolve(
            server="https://s", token=None, ca_file=tmp_path / "ca.pem", insecure=False,
            environ=environ,
        )  # fmt: skip

"""The Containerfile installs what `make test` proves: no container engine runs here, so
its steps are read and compared with the project (package, extras, entry point)."""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from deploy.rendering import DEPLOY, ROOT

CONTAINERFILE = ROOT / "Containerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    split: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            split.append([])
        if split:
            split[-1].append((keyword, rest))
    return split


def build_args() -> dict[str, str]:
    return dict(
        rest.split("=", 1) for keyword, rest in instructions() if keyword == "ARG" and "=" in rest
    )


def test_two_stages_on_red_hat_ubi_9_with_python_3_11() -> None:
    build, runtime = stages()
    args = build_args()
    assert build[0][1] == "${PYTHON_IMAGE} AS build"
    assert args["PYTHON_IMAGE"].startswith("registry.access.redhat.com/ubi9/python-311:")
    assert runtime[0][1] == "${RUNTIME_IMAGE}"
    assert args["RUNTIME_IMAGE"].startswith("registry.access.redhat.com/ubi9/ubi-minimal:")
    runs = " ".join(rest for keyword, rest in runtime if keyword == "RUN")
    assert "microdnf install" in runs and "python3.11" in runs


def test_the_wheel_of_this_project_is_installed_without_extras() -> None:
    build, _ = stages()
    commands = [
        word
        for keyword, rest in build
        if keyword == "RUN"
        for part in rest.split("&&")
        for word in [shlex.split(part)]
    ]
    [wheel] = [c for c in commands if c[1:4] == ["-m", "pip", "wheel"]]
    assert wheel[-1] == ".", "the wheel is built from the project itself"
    [install] = [c for c in commands if c[1:4] == ["-m", "pip", "install"]]
    [target] = [word for word in install if word.endswith(".whl")]
    distribution = PYPROJECT["project"]["name"].replace("-", "_")
    assert Path(target).name == f"{distribution}-*.whl"
    # `make test` installs '.[test]'; the image needs no extra: none may be named.
    assert "[" not in target
    assert "--no-deps" not in install, "the runtime dependencies come with the wheel"


def test_the_entrypoint_is_the_console_script_serve() -> None:
    _, runtime = stages()
    [entrypoint] = [rest for keyword, rest in runtime if keyword == "ENTRYPOINT"]
    program, command = yaml.safe_load(entrypoint)
    assert Path(program).name == "must-gather-api" and command == "serve"
    assert PYPROJECT["project"]["scripts"]["must-gather-api"] == "must_gather_api.cli.main:main"
    # The same console script, installed in this virtual environment by `make test`.
    script = Path(sys.executable).parent / "must-gather-api"
    done = subprocess.run(
        [str(script), "serve", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "granian" in done.stdout


def test_a_non_root_user_no_healthcheck_no_oc_and_labels() -> None:
    _, runtime = stages()
    keywords = [keyword for keyword, _ in runtime]
    assert "HEALTHCHECK" not in keywords
    [user] = [rest for keyword, rest in runtime if keyword == "USER"]
    assert user.isdigit() and int(user) != 0
    steps = " ".join(rest for _, rest in instructions())
    assert not re.search(r"(^|[\s/])oc(\s|$)", steps), "no oc binary"
    labels = " ".join(rest for keyword, rest in runtime if keyword == "LABEL")
    for label in ("title", "description", "version", "licenses"):
        assert f"org.opencontainers.image.{label}=" in labels
    assert f'licenses="{PYPROJECT["project"]["license"]}"' in labels


def test_the_data_directory_is_where_the_manifests_mount_it() -> None:
    _, runtime = stages()
    environment = " ".join(rest for keyword, rest in runtime if keyword == "ENV")
    deployment = yaml.safe_load((DEPLOY / "base/deployment.yaml").read_text())
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    [data] = [m["mountPath"] for m in container["volumeMounts"] if m["name"] == "data"]
    for name in ("DATA_DIR", "DB_PATH"):
        assert f"{name}={env[name]}" in environment
        assert env[name].startswith(f"{data}/")
    assert f'VOLUME ["{data}"]' in CONTAINERFILE.read_text()


def test_the_build_context_holds_what_the_wheel_needs_and_nothing_else() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".containerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def sent(path: str) -> bool:
        keep = True
        for pattern in patterns:
            negated = pattern.startswith("!")
            bare = pattern.removeprefix("!").rstrip("/")
            if fnmatch.fnmatch(path, bare) or path.startswith(f"{bare}/"):
                keep = negated
        return keep

    copied = [rest.split()[0] for keyword, rest in stages()[0] if keyword == "COPY"]
    for path in [*copied, PYPROJECT["project"]["readme"], "src/must_gather_api/settings.py"]:
        assert sent(path.rstrip("/").removeprefix("./")), path
    for path in (".venv", ".git", "tests", "gatherings.db", "data"):
        assert not sent(path), path

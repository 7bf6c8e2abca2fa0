"""``cores`` in a request: the CORES_* permission for everyone, never with ``server``."""

from __future__ import annotations

from pathlib import Path

import pytest

from must_gather_api.api.privileges import check
from must_gather_api.api.schemas import GatheringRequest
from must_gather_api.auth.base import Caller
from must_gather_api.errors import Forbidden, InvalidParameter
from must_gather_api.settings import Permission, Settings
from support.service import make_settings

pytestmark = pytest.mark.asyncio
DEFAULT = "quay.io/kubev2v/forklift-must-gather"


class Reviews:
    """Says yes to the permissions in ``granted``; records what it was asked."""

    def __init__(self, *granted: Permission) -> None:
        self.granted = granted
        self.asked: list[Permission] = []

    async def authenticate(self, authorization: str | None) -> Caller:
        raise AssertionError("not used")

    async def may(self, caller: Caller, permission: Permission) -> bool:
        self.asked.append(permission)
        return permission in self.granted

    async def close(self) -> None:
        return None


def settings(tmp_path: Path, **given: str) -> Settings:
    return make_settings(tmp_path, cores_verb="get", cores_resource="pods", **given)


@pytest.mark.parametrize("admin", [True, False])
async def test_asking_for_cores_needs_the_cores_permission_even_for_admins(
    tmp_path: Path, admin: bool
) -> None:
    configured = settings(tmp_path)
    caller = Caller(user="someone", token="t", is_admin=admin)
    for choice in ("metadata", "all"):
        reviews = Reviews()
        with pytest.raises(Forbidden) as refused:
            await check(
                GatheringRequest.model_validate({"cores": choice}),
                caller,
                settings=configured,
                authenticator=reviews,
                default_image=DEFAULT,
            )
        assert refused.value.message.startswith(f"cores: {choice} needs the permission")
        assert "'someone'" in refused.value.message
        assert reviews.asked == [configured.cores_permission]

        allowed = Reviews(configured.cores_permission)
        await check(
            GatheringRequest.model_validate({"cores": choice}),
            caller,
            settings=configured,
            authenticator=allowed,
            default_image=DEFAULT,
        )
        assert allowed.asked.count(configured.cores_permission) == 1


async def test_none_asks_nothing(tmp_path: Path) -> None:
    for body in ({}, {"cores": "none"}, {"cores": ""}):
        reviews = Reviews()
        await check(
            GatheringRequest.model_validate(body),
            Caller(user="someone", token="t", is_admin=True),
            settings=settings(tmp_path),
            authenticator=reviews,
            default_image=DEFAULT,
        )
        assert reviews.asked == []


async def test_cores_are_not_read_from_a_requests_server(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read here\n")
    configured = settings(
        tmp_path,
        gather_credentials="caller",
        allowed_servers="https://other.example.com:6443",
        server_ca_file=str(ca),
    )
    with pytest.raises(InvalidParameter) as refused:
        await check(
            GatheringRequest.model_validate(
                {"cores": "all", "server": "https://other.example.com:6443"}
            ),
            Caller(user="admin", token="t", is_admin=True),
            settings=configured,
            authenticator=Reviews(configured.cores_permission),
            default_image=DEFAULT,
        )
    assert refused.value.field == "cores"


@pytest.mark.parametrize(("body", "mode"), [({"redact": True}, "on-request"), ({}, "always")])
async def test_all_is_refused_for_a_redacted_archive_metadata_is_not(
    tmp_path: Path, body: dict[str, object], mode: str
) -> None:
    configured = settings(tmp_path, redaction=mode)
    reviews = Reviews(configured.cores_permission)
    caller = Caller(user="someone", token="t", is_admin=True)
    with pytest.raises(InvalidParameter) as refused:
        await check(
            GatheringRequest.model_validate({**body, "cores": "all"}),
            caller,
            settings=configured,
            authenticator=reviews,
            default_image=DEFAULT,
        )
    assert refused.value.field == "cores"
    assert "process memory" in refused.value.reason
    await check(
        GatheringRequest.model_validate({**body, "cores": "metadata"}),
        caller,
        settings=configured,
        authenticator=reviews,
        default_image=DEFAULT,
    )

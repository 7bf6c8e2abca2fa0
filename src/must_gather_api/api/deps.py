"""What the routes need, found on the application's state.

The application builds one ``Services`` in its lifespan; routes take what they need
through the ``Annotated`` dependencies below, never through module globals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from must_gather_api.api.metrics import Metrics
from must_gather_api.api.quotas import FollowStreams
from must_gather_api.auth.base import Authenticator, Caller
from must_gather_api.cores.service import Cores
from must_gather_api.gatherings.indexes import ArchiveIndexes
from must_gather_api.gatherings.kubeviews import KubeViews
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.runner import Runner
from must_gather_api.gatherings.store import GatheringStore
from must_gather_api.gatherings.tails import ListTails
from must_gather_api.kube.access import ClusterAccess
from must_gather_api.settings import Settings


@dataclass
class Services:
    settings: Settings
    store: GatheringStore
    runner: Runner
    layout: Layout
    metrics: Metrics
    authenticator: Authenticator
    follows: FollowStreams
    indexes: ArchiveIndexes
    kube_views: KubeViews
    cores: Cores
    tails: ListTails
    # The cluster, where one is configured (the Forklift picker lists Plans in it).
    access: ClusterAccess | None = None


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _services(request: Request) -> Services:
    # async, though it never waits: FastAPI runs a plain-def dependency in its thread pool,
    # a thread crossing for every request (a few ms of the busy p99 of a poll).
    return services_of(request)


def authorization_of(request: Request) -> str | None:
    """The caller's Authorization header, or a bearer header made of the token an
    oauth-proxy passes in X-Forwarded-Access-Token (its own Authorization may be Basic).
    Either way the token is reviewed by the cluster: the header grants nothing itself."""
    given = request.headers.get("authorization")
    if given and given.split(maxsplit=1)[0].lower() == "bearer":
        return given
    forwarded = request.headers.get("x-forwarded-access-token", "").strip()
    if forwarded:
        return f"Bearer {forwarded}"
    return given


async def _caller(request: Request) -> Caller:
    services = services_of(request)
    return await services.authenticator.authenticate(authorization_of(request))


ServicesDep = Annotated[Services, Depends(_services)]
CallerDep = Annotated[Caller, Depends(_caller)]

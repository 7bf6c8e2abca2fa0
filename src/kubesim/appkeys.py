"""Typed aiohttp application keys shared by the server and the kubelet's stream handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from kubesim.auth import Users
    from kubesim.faults import Faults
    from kubesim.kubelet import Kubelet
    from kubesim.store import Store

STORE_KEY: web.AppKey[Store] = web.AppKey("kubesim_store")
KUBELET_KEY: web.AppKey[Kubelet] = web.AppKey("kubesim_kubelet")
FAULTS_KEY: web.AppKey[Faults] = web.AppKey("kubesim_faults")
USERS_KEY: web.AppKey[Users] = web.AppKey("kubesim_users")

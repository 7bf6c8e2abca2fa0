"""What every pod worker of one kubelet shares: the store, images, timings, files."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kubesim.kubelet.pulling import Catalogue

if TYPE_CHECKING:
    from kubesim.faults import Faults
    from kubesim.store import Store


@dataclass(frozen=True)
class KubeletTimings:
    """Delays of the kubelet's retry loops; tests shorten them."""

    schedule_retry_seconds: float = 1.0
    # How long ErrImagePull shows before it turns into ImagePullBackOff.
    pull_error_seconds: float = 1.0
    pull_backoff_seconds: float = 10.0
    pull_backoff_max_seconds: float = 300.0
    restart_backoff_seconds: float = 10.0
    restart_backoff_max_seconds: float = 300.0
    default_grace_seconds: float = 30.0


@dataclass
class KubeletContext:
    store: Store
    images: Catalogue
    state_dir: Path
    api_url: str
    faults: Faults
    token_for_service_account: Callable[[str, str], str]
    timings: KubeletTimings
    ca_crt: bytes = b""
    # (node, full image reference) pairs already pulled, for "already present on machine".
    pulled: set[tuple[str, str]] = field(default_factory=set)
    _ips: itertools.count[int] = field(default_factory=lambda: itertools.count(2))

    def next_pod_ip(self) -> str:
        n = next(self._ips)
        return f"10.128.{(n // 250) % 256}.{n % 250 + 2}"

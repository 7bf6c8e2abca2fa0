from __future__ import annotations

from must_gather_api.analysis import storage
from support.archives import files, listed


def test_pending_claims() -> None:
    claims = [
        {
            "metadata": {"name": "data", "namespace": "db"},
            "status": {"phase": "Pending"},
            "spec": {"storageClassName": "fast"},
        },
        {"metadata": {"name": "ok", "namespace": "db"}, "status": {"phase": "Bound"}},
    ]
    found = storage.analyze(
        files(
            {
                "namespaces/db/core/persistentvolumeclaims.yaml": listed(
                    "PersistentVolumeClaim", claims
                )
            }
        )
    )
    assert [(f.object, f.reason) for f in found] == [("PersistentVolumeClaim/db/data", "Pending")]
    assert "fast" in found[0].message

"""The gather command of the benchmarks: writes log-like text under a directory.

Run in a kubesim pod as ``python3 .../textlog.py /must-gather BYTES``: klog-style lines
with varying fields (compressible as real logs are, about 5:1 with gzip), in files of
8 MiB laid out as a must-gather's ``namespaces/<ns>/pods/<pod>/<container>.log``.
Standard library only: it runs under the host's python3.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

FILE_BYTES = 8 * 1024 * 1024
POOL_LINES = 120_000
WORDS = (  # noqa: SIM905 (easier to read as a sentence)
    "reconcile synced object updated status watch event lease renewed pod ready "
    "container started probe failed retrying backoff endpoint slice migration plan "
    "provider inventory network mapping storage disk snapshot volume attach detach"
).split()


def pool(seed: int) -> bytes:
    rng = random.Random(seed)
    lines = []
    for n in range(POOL_LINES):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
        lines.append(
            f"I{rng.randint(1, 12):02d}{rng.randint(1, 28):02d} "
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
            f"{rng.randint(0, 999999):06d} {rng.randint(1, 99):7d} "
            f"{rng.choice(WORDS)}.go:{rng.randint(10, 999)}] {words} "
            f'namespace="ns-{rng.randint(1, 40)}" name="obj-{n:06d}" '
            f"rv={rng.randint(10**6, 10**8)}\n"
        )
    return "".join(lines).encode()


def main(argv: list[str]) -> int:
    root, total = Path(argv[1]), int(argv[2])
    text = pool(1)
    written, index = 0, 0
    while written < total:
        size = min(FILE_BYTES, total - written)
        folder = root / "namespaces" / f"ns-{index % 16}" / "pods" / f"pod-{index}"
        folder.mkdir(parents=True, exist_ok=True)
        start = (index * 7919 * 4096) % (len(text) - FILE_BYTES) if len(text) > FILE_BYTES else 0
        chunk = (text[start:] + text)[:size]
        (folder / "container.log").write_bytes(chunk)
        written += size
        index += 1
    print(f"wrote {written} bytes in {index} files", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

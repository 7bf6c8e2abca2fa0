"""Which products and versions the images wrote (the `version` file of the must-gather contract).

The contract asks each image to write `/must-gather/version`: the product on its first
line, its version on the second, "so that programmatic analysis can be developed". An
image that wrote none gets a warning: support cannot tell what gathered the data.
"""

from __future__ import annotations

from must_gather_api.analysis.model import Finding, Product, Severity
from must_gather_api.analysis.source import ArchiveFiles

AREA = "products"
SERVICE_LOG = "must-gather.logs"  # the service's own file beside the images' directories


def image_dirs(files: ArchiveFiles) -> list[str]:
    """Where each image's data is: the directories beside the service's own files, or, in
    an archive an image packed itself (or one image's tree), the top directory."""
    tops = {path.split("/", 1)[0] for path in files.paths}
    found: list[str] = []
    for top in sorted(tops):
        if f"{top}/version" in files.sizes or f"{top}/{SERVICE_LOG}" not in files.sizes:
            found.append(top)
            continue
        for path in files.paths:
            parts = path.split("/")
            if len(parts) > 2 and parts[0] == top and not parts[1].startswith("inspect.local."):
                candidate = f"{top}/{parts[1]}"
                if candidate not in found:
                    found.append(candidate)
    return found


def products(files: ArchiveFiles) -> list[Product]:
    found = []
    for directory in image_dirs(files):
        path = f"{directory}/version"
        if path in files.sizes:
            lines = files.text(path).splitlines()
            product = lines[0].strip() if lines else ""
            version = lines[1].strip() if len(lines) > 1 else ""
            found.append(Product(product=product, version=version, path=path))
    return found


def analyze(files: ArchiveFiles) -> list[Finding]:
    findings = []
    for directory in image_dirs(files):
        path = f"{directory}/version"
        if path not in files.sizes:
            findings.append(
                Finding(
                    Severity.WARNING,
                    AREA,
                    f"image/{directory}",
                    "NoVersionFile",
                    "the image wrote no version file (product and version, the contract's "
                    "first two lines): what gathered this data is unknown",
                    (directory,),
                )
            )
            continue
        lines = files.text(path).splitlines()
        if len(lines) < 2 or not lines[0].strip() or not lines[1].strip():
            findings.append(
                Finding(
                    Severity.WARNING,
                    AREA,
                    f"image/{directory}",
                    "BadVersionFile",
                    "the version file does not hold a product and a version on its first two lines",
                    (path,),
                )
            )
    return findings

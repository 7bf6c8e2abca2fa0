"""kubesim's image catalogue: directories that stand for images' root filesystems.

The kubelet resolves a pod's ``image`` here; an unknown image gives ErrImagePull. The
scripts inside the image roots run as host processes and reach the API the way a pod
does (service-account token and CA under ``$KUBESIM_ROOT/var/run/secrets/...``).
"""

from kubesim.images.catalogue import (
    CatalogueEntry,
    Image,
    ImageCatalogue,
    InvalidReference,
    Reference,
    parse_reference,
)

__all__ = [
    "CatalogueEntry",
    "Image",
    "ImageCatalogue",
    "InvalidReference",
    "Reference",
    "parse_reference",
]

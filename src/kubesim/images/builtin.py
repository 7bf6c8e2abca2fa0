"""The images shipped with kubesim (docs/kubesim-images.md describes each one)."""

from __future__ import annotations

from kubesim.images.catalogue import CatalogueEntry

ORIGIN_MUST_GATHER = "quay.io/openshift/origin-must-gather"
OSE_MUST_GATHER = "registry.redhat.io/openshift4/ose-must-gather"
CNV_MUST_GATHER = "registry.redhat.io/container-native-virtualization/cnv-must-gather-rhel9"
FORKLIFT_MUST_GATHER = "quay.io/kubev2v/forklift-must-gather"
BUSYBOX = "docker.io/library/busybox"

FAILS_HALFWAY = "kubesim.local/must-gather-fails-halfway"
NEVER_ENDS = "kubesim.local/must-gather-never-ends"
LARGE_OUTPUT = "kubesim.local/must-gather-large-output"
HOSTILE_PATHS = "kubesim.local/must-gather-hostile-paths"
UNPULLABLE = "kubesim.local/must-gather-unpullable"
MANY_FILES = "kubesim.local/must-gather-many-files"
SPARSE_FILE = "kubesim.local/must-gather-sparse-file"
GZIP_BOMB = "kubesim.local/must-gather-gzip-bomb"
HOSTILE_TAR = "kubesim.local/must-gather-hostile-tar"
UNSAFE_ARCHIVE = "kubesim.local/must-gather-unsafe-archive"

_GATHER = ("/usr/bin/gather",)
_OPENSHIFT_TAGS = frozenset({"latest", "4.18", "4.18.0", "v4.18", "v4.18.0"})

BUILTIN_IMAGES: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        names=(ORIGIN_MUST_GATHER, OSE_MUST_GATHER),
        root="origin-must-gather",
        entrypoint=_GATHER,
        tags=_OPENSHIFT_TAGS,
        description="stand-in for OpenShift's default must-gather image",
    ),
    CatalogueEntry(
        names=(CNV_MUST_GATHER,),
        root="origin-must-gather",
        entrypoint=_GATHER,
        tags=_OPENSHIFT_TAGS,
        description="the OpenShift gather under the name a CSV annotation gives",
    ),
    CatalogueEntry(
        names=(FORKLIFT_MUST_GATHER,),
        root="forklift-must-gather",
        entrypoint=_GATHER,
        tags=None,
        description="stand-in for the Forklift (MTV) must-gather image: gather and targeted",
    ),
    CatalogueEntry(
        names=(BUSYBOX,),
        root="busybox",
        entrypoint=("sh",),
        tags=frozenset({"latest", "1.36", "1.37", "stable"}),
        description="nearly empty root: commands run the host's binaries",
    ),
    CatalogueEntry(
        names=(FAILS_HALFWAY,),
        root="fails-halfway",
        entrypoint=_GATHER,
        description="writes some data, then exits 1",
    ),
    CatalogueEntry(
        names=(NEVER_ENDS,),
        root="never-ends",
        entrypoint=_GATHER,
        description="gathers forever; exits 143 on SIGTERM",
    ),
    CatalogueEntry(
        names=(LARGE_OUTPUT,),
        root="large-output",
        entrypoint=_GATHER,
        description="writes OUTPUT_BYTES (default 100 MiB) of mixed text and random data",
    ),
    CatalogueEntry(
        names=(HOSTILE_PATHS,),
        root="hostile-paths",
        entrypoint=_GATHER,
        description="odd names, escaping and absolute symlinks, a hardlink, a FIFO, a loop",
    ),
    CatalogueEntry(
        names=(MANY_FILES,),
        root="many-files",
        entrypoint=_GATHER,
        description="writes FILE_COUNT (default 1,000,000) tiny files",
    ),
    CatalogueEntry(
        names=(SPARSE_FILE,),
        root="sparse-file",
        entrypoint=_GATHER,
        description="a sparse file claiming SPARSE_BYTES (default 1 TiB)",
    ),
    CatalogueEntry(
        names=(GZIP_BOMB,),
        root="gzip-bomb",
        entrypoint=_GATHER,
        description="must-gather.tar.gz that unpacks to BOMB_BYTES (default 16 GiB) of zeros",
    ),
    CatalogueEntry(
        names=(HOSTILE_TAR,),
        root="hostile-tar",
        entrypoint=_GATHER,
        description="its own tar sends a stream whose pax header gives a size of -1536",
    ),
    CatalogueEntry(
        names=(UNSAFE_ARCHIVE,),
        root="unsafe-archive",
        entrypoint=_GATHER,
        description="must-gather.tar.gz with .., absolute, setuid, device, escaping-link members",
    ),
    CatalogueEntry(
        names=(UNPULLABLE,),
        root="busybox",
        entrypoint=_GATHER,
        pullable=False,
        description="exists but can never be pulled (ErrImagePull, then ImagePullBackOff)",
    ),
)

from __future__ import annotations

from must_gather_api.analysis import products
from must_gather_api.analysis.model import Product
from must_gather_api.analysis.source import ArchiveFiles


def test_each_image_directory_and_its_version_file() -> None:
    files = ArchiveFiles.from_contents(
        {
            "must-gather/must-gather.logs": "service output\n",
            "must-gather/timestamp": "now\n",
            "must-gather/origin/version": "openshift/must-gather\n4.18.0\nmore\n",
            "must-gather/origin/nodes.yaml": "{}",
            "must-gather/forklift/namespaces/a.yaml": "{}",
            "must-gather/odd/version": "only-a-product\n",
            "must-gather/inspect.local.123/namespaces/x.yaml": "{}",
        }
    )
    assert products.products(files) == [
        Product("openshift/must-gather", "4.18.0", "must-gather/origin/version"),
        Product("only-a-product", "", "must-gather/odd/version"),
    ]
    found = products.analyze(files)
    assert [(f.object, f.reason) for f in found] == [
        ("image/must-gather/forklift", "NoVersionFile"),
        ("image/must-gather/odd", "BadVersionFile"),
    ]


def test_an_archive_an_image_packed_itself() -> None:
    files = ArchiveFiles.from_contents({"must-gather/namespaces/mtv/crs/plan/p.yaml": "{}"})
    assert products.image_dirs(files) == ["must-gather"]
    assert [f.reason for f in products.analyze(files)] == ["NoVersionFile"]
    with_version = ArchiveFiles.from_contents(
        {"must-gather/version": "p\n1\n", "must-gather/a/b": ""}
    )
    assert products.products(with_version) == [Product("p", "1", "must-gather/version")]

"""Archives safe to share: must-gather-clean's obfuscation and omission, member by member.

``config`` reads must-gather-clean's configuration; ``redactor.Redactor`` applies it to the
members of one archive while it is packed (``archive.packing``) and writes the report
(``report``) that maps replacements back, which stays private. Everything here blocks and
runs off the event loop.
"""

from must_gather_api.redaction import domains
from must_gather_api.redaction.config import (
    DEFAULT_CONFIG,
    ConfigInvalid,
    RedactionConfig,
    load_config,
    load_config_file,
)
from must_gather_api.redaction.domains import detect_in_tree
from must_gather_api.redaction.redactor import WATERMARK, Redactor
from must_gather_api.redaction.report import RedactionReport

__all__ = [
    "DEFAULT_CONFIG",
    "WATERMARK",
    "ConfigInvalid",
    "RedactionConfig",
    "RedactionReport",
    "Redactor",
    "detect_in_tree",
    "domains",
    "load_config",
    "load_config_file",
]

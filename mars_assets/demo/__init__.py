"""Test doubles used by ``mars-assets demo`` and the tests: the reader of a recorded NASA snapshot and a
loopback server replaying it in the shape of the NASA Photos API v1, JPL's raw-image feeds and MMGIS."""

from mars_assets.demo.server import Fault, LoggedRequest, ReplayServer
from mars_assets.demo.snapshot import ArchiveLayoutError, Snapshot, bundled_snapshot, default_archive

__all__ = [
    "ArchiveLayoutError",
    "Fault",
    "LoggedRequest",
    "ReplayServer",
    "Snapshot",
    "bundled_snapshot",
    "default_archive",
]

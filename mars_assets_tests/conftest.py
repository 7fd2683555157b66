"""Shared fixtures: the bundled snapshot, small snapshot folders, the loopback replay server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mars_assets.sources.replay_server import ReplayServer
from mars_assets.sources.snapshot import bundled_snapshot

#: Images copied into the small snapshot: two MSL browse products (sols 3 and 50), one
#: Mars 2020 Mastcam-Z PNG (sol 38) and one MSL Navcam frame whose name has no sol.
SMALL_IMAGES = (
    "msl_deep_mars_browse/0003ML0000000110100031E01_DRCL.JPG",
    "msl_deep_mars_browse/0050ML0002300290102177E01_DRCL.JPG",
    "mars-raw-utils/ZL0_0038_0670307360_057ECM_N0031392ZCAM08007_1100LUJ.png",
    "mars-raw-utils/NRB_670586006EDR_S0871444NCAM00545M_.jpg",
)
SMALL_PHOTOS = ("curiosity_sol0001.json", "spirit_sol0001.json", "perseverance_sol0000.json")


@pytest.fixture(scope="session")
def snapshot_root() -> Path:
    return bundled_snapshot()


def make_small_archive(dest: Path, photos=SMALL_PHOTOS, images=SMALL_IMAGES) -> Path:
    """A snapshot folder in the standard layout with a subset of the bundled data."""
    src = bundled_snapshot()
    (dest / "api" / "photos").mkdir(parents=True)
    (dest / "api" / "manifests").mkdir()
    (dest / "images").mkdir()
    for name in photos:
        shutil.copy(src / "api" / "photos" / name, dest / "api" / "photos" / name)
    for p in (src / "api" / "manifests").iterdir():
        shutil.copy(p, dest / "api" / "manifests" / p.name)
    for p in (src / "api").glob("rovers_*.json"):
        shutil.copy(p, dest / "api" / p.name)
    for rel in images:
        (dest / "images" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / "images" / rel, dest / "images" / rel)
    shutil.copytree(src / "traverse", dest / "traverse")
    return dest


@pytest.fixture
def small_archive(tmp_path: Path) -> Path:
    return make_small_archive(tmp_path / "archive")


@pytest.fixture
def replay(snapshot_root: Path):
    with ReplayServer(snapshot_root) as server:
        yield server

"""The ``dashboards/timelapse`` asset on a warehouse written by hand: real Delta tables (silver
image_quality and photos through the project's writer), real Mastcam frames of the snapshot in
bronze, the asset invoked directly; plus its sol-range setting."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pytest
from PIL import Image, ImageSequence

from mars_assets.defs.dashboards.timelapse import timelapse_dashboard
from mars_assets.lib.silver import storage_schema
from mars_assets.resources import Warehouse
from mars_assets.resources.timelapse import TimelapseConfig, parse_sol_range
from mars_assets.settings import Settings

BROWSE = Path(__file__).resolve().parents[1] / "mars_assets" / "snapshot" / "images" / "msl_deep_mars_browse"
#: (image_id, sol, bronze file of the snapshot): real Curiosity Mastcam browse frames.
FRAMES = [
    ("0003ML0000000110100031E01_DRCL.jpg", 3, "0003ML0000000110100031E01_DRCL.JPG"),
    ("0003ML0000000380100058E01_DRCL.jpg", 3, "0003ML0000000380100058E01_DRCL.JPG"),
    ("0013ML0000120130100182D01_DRCL.jpg", 13, "0013ML0000120130100182D01_DRCL.JPG"),
    ("0017ML0000500010100214C00_DRCL.jpg", 17, "0017ML0000500010100214C00_DRCL.JPG"),
    ("0019ML0000540220100303I01_DRCL.jpg", 19, "0019ML0000540220100303I01_DRCL.JPG"),
    ("0025ML0001270160100823E01_DRCL.jpg", 25, "0025ML0001270160100823E01_DRCL.JPG"),
    ("0032ML0000880000100876I01_DRCL.jpg", 32, "0032ML0000880000100876I01_DRCL.JPG"),
    ("0050ML0002300290102177E01_DRCL.jpg", 50, "0050ML0002300290102177E01_DRCL.JPG"),
]
T0 = dt.datetime(2012, 8, 9, 12, 0, tzinfo=dt.UTC)


def quality_row(image_id: str, sol: int, camera: str = "MAST", flags=(), duplicate_of=None) -> dict:
    return {
        "image_id": image_id,
        "product_id": image_id.rsplit(".", 1)[0],
        "rover": "curiosity",
        "sol": sol,
        "camera": camera,
        "width": 256,
        "height": 256,
        "phash": 1,
        "flags": list(flags),
        "duplicate_of": duplicate_of,
        "quality_version": "1",
    }


def photo_row(image_id: str, sol: int, minute: int, az: float | None, el: float | None) -> dict:
    return {
        "photo_id": abs(hash(image_id)) % 10**9,
        "rover": "curiosity",
        "sol": sol,
        "camera": "MAST",
        "product_id": image_id.rsplit(".", 1)[0],
        "date_taken_utc": T0 + dt.timedelta(days=sol, minutes=minute),
        "mast_az": az,
        "mast_el": el,
    }


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    """Silver image_quality of FRAMES: sol 13 black, the second sol-3 frame a duplicate of the
    first, sol 17 pointing 40 degrees away; silver photos with times (the sol-3 pair in reverse
    id order) and pointing; the frames' bytes in bronze."""
    wh = Warehouse(root=str(tmp_path / "warehouse"))
    rows = [quality_row(i, s) for i, s, _ in FRAMES]
    rows[1]["duplicate_of"] = rows[0]["duplicate_of"] = FRAMES[0][0]
    rows[2]["flags"] = ["black"]
    rows.append(quality_row("0019MR0000530110100149C00_DRCL.jpg", 19, camera="MAST RIGHT/x"))
    rows.append(quality_row("0019MR0000540300100200C00_DRCL.jpg", 19, camera="MAST RIGHT/x"))
    rows.append(quality_row("0034MH0000440010100031C00_DRCL.jpg", 34, camera="MAHLI"))  # one frame: skipped
    parts = sorted({(r["rover"], r["sol"]) for r in rows})
    table = pa.Table.from_pylist(rows, schema=storage_schema("image_quality"))
    wh.write_silver_table("image_quality", table, parts, {"dagster_run_id": "test"})
    photos = [photo_row(i, s, minute=10 * n, az=100.0, el=-5.0) for n, (i, s, _) in enumerate(FRAMES)]
    photos[0]["date_taken_utc"] = T0 + dt.timedelta(days=3, minutes=30)  # after the second sol-3 frame
    photos[1]["date_taken_utc"] = T0 + dt.timedelta(days=3, minutes=5)
    photos[3]["mast_az"] = 140.0
    wh.write_silver_table(
        "photos", pa.Table.from_pylist(photos, schema=storage_schema("photos")), parts, {"dagster_run_id": "test"}
    )
    names = [
        *FRAMES,
        ("0019MR0000530110100149C00_DRCL.jpg", 19, "0019MR0000530110100149C00_DRCL.JPG"),
        ("0019MR0000540300100200C00_DRCL.jpg", 19, "0019MR0000540300100200C00_DRCL.JPG"),
        ("0034MH0000440010100031C00_DRCL.jpg", 34, "0034MH0000440010100031C00_DRCL.JPG"),
    ]
    for image_id, sol, name in names:
        obj = {image_id: (BROWSE / name).read_bytes()}
        wh.write_objects(f"bronze/images/rover=curiosity/sol={sol}", obj, replace=False)
    return wh


def run(wh: Warehouse, sols: str = "all") -> dict:
    result = timelapse_dashboard(dg.build_asset_context(), warehouse=wh, timelapse=TimelapseConfig(sols=sols))
    return {k: getattr(v, "value", v) for k, v in result.metadata.items()}


def webp_frames(path: Path) -> tuple[Image.Image, list[np.ndarray]]:
    img = Image.open(path)
    return img, [np.asarray(f.convert("RGB")).astype(np.int16) for f in ImageSequence.Iterator(img)]


def test_timelapse_skips_flagged_duplicate_and_mispointed_frames_and_plays_in_time_order(warehouse):
    meta = run(warehouse, "3-25")
    root = Path(warehouse.root) / "dashboards" / "timelapse"
    listing = json.loads((root / "curiosity" / "MAST.json").read_text())
    # sol 3: the duplicate taken first (minute 5) stands for its group; 13 black; 17 off-pointed; 32+ out of range
    assert [i["image_id"] for i in listing["items"]] == [FRAMES[1][0], FRAMES[4][0], FRAMES[5][0]]
    assert [i["sol"] for i in listing["items"]] == [3, 19, 25] and listing["candidates"] == 6
    assert listing["items"][0]["taken_at"].startswith("2012-08-12T12:05:00")
    img, frames = webp_frames(root / "curiosity" / "MAST.webp")
    assert img.format == "WEBP" and img.n_frames == listing["frames"] == 3
    assert img.size == (384, 384) == (listing["width"], listing["height"])
    assert all(np.abs(a - b).mean() > 5 for a, b in zip(frames, frames[1:], strict=False))
    assert (root / "curiosity" / "MAST_RIGHT_x.webp").exists()  # a camera name made safe for a file
    page = (root / "index.html").read_text()
    assert 'src="curiosity/MAST.webp"' in page and "sols 3–25" in page and "MAHLI" not in page
    assert meta["timelapses"] == 2 and meta["skipped"] == 0  # MAHLI: outside the sols
    files = [root / "curiosity" / "MAST.webp", root / "curiosity" / "MAST_RIGHT_x.webp"]
    assert meta["frames"] == 3 + 2 and meta["bytes"] == sum(f.stat().st_size for f in files)
    assert meta["by timelapse"]["curiosity/MAST.webp"]["first_sol"] == 3
    assert meta["sols"] == "3-25" and "timelapse page" in meta["preview"]


def test_every_sol_by_default_and_a_timelapse_no_longer_made_is_deleted(warehouse):
    meta = run(warehouse)
    root = Path(warehouse.root) / "dashboards" / "timelapse"
    listing = json.loads((root / "curiosity" / "MAST.json").read_text())
    assert [i["sol"] for i in listing["items"]] == [3, 19, 25, 32, 50]
    assert meta["timelapses"] == 2 and meta["skipped"] == 1  # MAHLI: one frame
    assert Path(meta["path"]) == root / "index.html"
    run(warehouse, "40-60")  # sol 50 alone: one frame, no timelapse
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["index.html"]
    assert "No timelapses" in (root / "index.html").read_text()


def test_sol_range_setting_parses_all_one_sol_and_a_range_and_refuses_others(monkeypatch):
    assert parse_sol_range("all") is None and parse_sol_range("") is None
    assert parse_sol_range("3-73") == (3, 73) and parse_sol_range(" 12 ") == (12, 12)
    for bad in ("73-3", "-1", "a-b", "3-", "3..73"):
        with pytest.raises(ValueError):
            parse_sol_range(bad)
    monkeypatch.setenv("MARS_TIMELAPSE_SOLS", "3-73")
    settings = Settings.from_env()
    assert settings.timelapse_sols == "3-73" and settings.resources()["timelapse"].sol_range() == (3, 73)
    monkeypatch.setenv("MARS_TIMELAPSE_SOLS", "sometimes")
    with pytest.raises(ValueError, match="MARS_TIMELAPSE_SOLS"):
        Settings.from_env()
    with pytest.raises(Exception, match="bad sol range"):
        TimelapseConfig(sols="9-1")


def test_no_image_quality_yet_gives_an_empty_page(tmp_path):
    wh = Warehouse(root=str(tmp_path / "w"))
    meta = run(wh)
    assert meta["timelapses"] == 0 and meta["frames"] == 0
    assert "No timelapses" in (tmp_path / "w/dashboards/timelapse/index.html").read_text()

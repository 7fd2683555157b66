"""A synthetic mission of silver tables, written through the project's own silver writer.

Used by ``benchmarks/mission_warehouse.py`` and mars_assets_tests/test_mission_size_warehouse.py::

    mission = plan_mission(sols=2000, photos=1_500_000)
    rows = write_mission(Warehouse(root="..."), mission, batch=100, images_per_sol=10)

One rover (Curiosity) over sols 0..sols-1, every table in its silver storage schema
(``mars_assets.lib.silver.storage_schema``), written with ``Warehouse.write_silver_table``:

* ``photos``: Poisson counts per sol (about ``photos`` in all), 17 cameras under their JPL
  instrument names (the worst case for sols × cameras), values shaped like the JPL MSL feed's,
  earth_date by the v1 rule the dbt tests check; every EMPTY_EVERY-th sol has no photos;
* ``manifest_sols``: one row per sol with that sol's photo count and cameras (the empty sols
  list 300 photos: MISSING_SOL; every MISMATCH_EVERY-th sol 3 photos more: PHOTO_COUNT_MISMATCH);
* ``rovers``, ``cameras``; ``waypoints`` and ``traverse`` legs (LEG_VERTICES vertices) on ~55 %
  of sols, a random walk near Gale crater;
* ``images`` and ``image_stats`` (a 256-bin gray histogram, RADIAL_BINS radial bins) of the
  first ``images_per_sol`` photos of each sol, and their ``image_quality`` (quality_rows);
* ``photo_quarantine`` (~0.2 % of photos: a reason naming the photo's URL, one group once URLs
  are masked, and one naming sols, a group per sol), ``image_quarantine`` (3 per batch),
  ``landing_files`` (500 files, one in ten quarantined).

Deterministic: the same arguments give the same rows. The photo-sized tables are generated
and committed one batch of sols at a time, so memory follows the batch, not the mission.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mars_assets.lib.silver import storage_schema
from mars_assets.resources import Warehouse, delta_tables

ROVER = "curiosity"
LANDING = dt.date(2012, 8, 6)
LANDING_TS = dt.datetime(2012, 8, 6, 5, 17, 57, tzinfo=dt.UTC).timestamp()
SOL_SECONDS = 88775.244
INGESTED = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
#: Curiosity's instruments as the v1 API named them since late 2024: (camera, product-id
#: prefix, URL folder, relative frequency).
CAMERAS: tuple[tuple[str, str, str, float], ...] = (
    ("NAV_LEFT_B", "NLB", "ncam", 12),
    ("NAV_RIGHT_B", "NRB", "ncam", 6),
    ("NAV_LEFT_A", "NLA", "ncam", 1),
    ("NAV_RIGHT_A", "NRA", "ncam", 1),
    ("FHAZ_LEFT_B", "FLB", "fcam", 3),
    ("FHAZ_RIGHT_B", "FRB", "fcam", 3),
    ("FHAZ_LEFT_A", "FLA", "fcam", 0.5),
    ("FHAZ_RIGHT_A", "FRA", "fcam", 0.5),
    ("RHAZ_LEFT_B", "RLB", "rcam", 2),
    ("RHAZ_RIGHT_B", "RRB", "rcam", 2),
    ("RHAZ_LEFT_A", "RLA", "rcam", 0.3),
    ("RHAZ_RIGHT_A", "RRA", "rcam", 0.3),
    ("MAST_LEFT", "ML0", "mcam", 14),
    ("MAST_RIGHT", "MR0", "mcam", 10),
    ("CHEMCAM_RMI", "CR0", "ccam", 4),
    ("MAHLI", "MH0", "mhli", 3),
    ("MARDI", "MD0", "mrdi", 2),
)
#: Sols without photos (sol % EMPTY_EVERY == EMPTY_EVERY // 2) and with a manifest count 3 too high.
EMPTY_EVERY, MISMATCH_EVERY = 97, 151
#: Vertices of a synthetic traverse leg.
LEG_VERTICES = 20
#: Radial power bins of a synthetic image_stats row.
RADIAL_BINS = 64


@dataclass
class Mission:
    """Photo counts per sol (``counts[s]`` for sol ``s``), fixed before any row is written."""

    counts: np.ndarray
    seed: int

    @property
    def sols(self) -> int:
        return len(self.counts)


def plan_mission(sols: int, photos: int, seed: int = 20261201) -> Mission:
    """Poisson photo counts for sols 0..sols-1 summing to about ``photos``; the sols with
    ``sol % EMPTY_EVERY == EMPTY_EVERY // 2`` get none."""
    rng = np.random.default_rng(seed)
    empty = np.arange(sols) % EMPTY_EVERY == EMPTY_EVERY // 2
    mean = photos / max(1, sols - int(empty.sum()))
    counts = rng.poisson(mean, sols).astype(np.int64)
    counts[empty] = 0
    return Mission(counts=counts, seed=seed)


def earth_dates(sol: np.ndarray) -> pa.Array:
    """landing + floor(sol × 88775.244 / 86400) days (the v1 rule the dbt tests check)."""
    days = np.floor(sol * SOL_SECONDS / 86400).astype("timedelta64[D]")
    return pa.array(np.datetime64(LANDING) + days, pa.date32())


def _table(name: str, cols: dict) -> pa.Table:
    """silver ``name`` in its storage schema from ``cols`` (column -> values); absent columns null."""
    schema, n = storage_schema(name), len(next(iter(cols.values())))
    arrays = [pa.array(cols[f.name], f.type) if f.name in cols else pa.nulls(n, f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def photo_rows(mission: Mission, first: int, last: int) -> pa.Table:
    """The silver photos rows of sols first..last (inclusive), sorted by sol; photo ids run on
    from the photos of the sols before ``first``."""
    counts = mission.counts[first : last + 1]
    rng = np.random.default_rng(mission.seed + first)
    n = int(counts.sum())
    sol = np.repeat(np.arange(first, last + 1, dtype=np.int64), counts)
    photo_id = 1_000_000 + int(mission.counts[:first].sum()) + np.arange(n, dtype=np.int64)
    weights = np.array([c[3] for c in CAMERAS])
    cam = rng.choice(len(CAMERAS), n, p=weights / weights.sum())
    frac = rng.uniform(0.3, 0.7, n)
    taken = LANDING_TS + (sol + frac) * SOL_SECONDS
    sclk = (397_502_000 + (taken - LANDING_TS)).astype(np.int64)
    site, drive = 1 + sol // 40, (sol % 40) * 12 + rng.integers(0, 12, n)
    names = np.array([c[0] for c in CAMERAS])
    site_drive = (site * 1000 + drive).tolist()
    products = [
        f"{CAMERAS[c][1]}_{t}EDR_F{sd:07d}{CAMERAS[c][2].upper()}{i % 100_000:05d}M_"
        for c, t, sd, i in zip(cam.tolist(), sclk.tolist(), site_drive, photo_id.tolist(), strict=True)
    ]
    lmst = frac * 86400
    cols = {
        "photo_id": photo_id,
        "rover": np.full(n, ROVER),
        "sol": sol,
        "earth_date": earth_dates(sol),
        "camera": names[cam],
        "camera_full_name": names[cam],
        "img_src": [
            f"https://mars.nasa.gov/msl-raw-images/proj/msl/redops/ods/surface/sol/{s:05d}/opgs/edr/"
            f"{CAMERAS[c][2]}/{p}.JPG"
            for s, c, p in zip(sol.tolist(), cam.tolist(), products, strict=True)
        ],
        "product_id": products,
        "source": np.full(n, "jpl_msl"),
        "ingested_at": pa.array([INGESTED] * n, pa.timestamp("us", tz="UTC")),
        "sample_type": np.full(n, "full"),
        "date_taken_utc": pa.array((taken * 1e6).astype(np.int64), pa.timestamp("us", tz="UTC")),
        "date_taken_mars": [
            f"Sol-{s:05d}M{int(x // 3600):02d}:{int(x % 3600 // 60):02d}:{x % 60:06.3f}"
            for s, x in zip(sol.tolist(), lmst.tolist(), strict=True)
        ],
        "site": site,
        "drive": drive,
        "width": pa.array(np.where(np.isin(cam, [12, 13]), 1344, 1024), pa.int32()),
        "height": pa.array(np.where(np.isin(cam, [12, 13]), 1200, 1024), pa.int32()),
        "camera_known": np.ones(n, bool),
    }
    return _table("photos", cols)


def manifest_rows(photos: pa.Table, first: int, last: int) -> list[dict]:
    """One manifest entry per sol of first..last: the photos' count and sorted cameras; an empty
    sol lists 300 photos of two cameras, every MISMATCH_EVERY-th sol 3 photos more than silver."""
    got = photos.group_by("sol").aggregate([("photo_id", "count"), ("camera", "distinct")]).to_pylist()
    per_sol = {r["sol"]: r for r in got}
    dates = earth_dates(np.arange(first, last + 1)).to_pylist()
    out = []
    for sol, date in zip(range(first, last + 1), dates, strict=True):
        r = per_sol.get(sol)
        if r is None:
            total, cameras = 300, ["MAST_LEFT", "NAV_LEFT_B"]
        else:
            total, cameras = r["photo_id_count"] + 3 * (sol % MISMATCH_EVERY == 7), sorted(r["camera_distinct"])
        out.append({"rover": ROVER, "sol": sol, "earth_date": date, "total_photos": total, "cameras": cameras})
    return out


def image_rows(photos: pa.Table, per_sol: int, seed: int) -> tuple[pa.Table, pa.Table]:
    """silver ``images`` and ``image_stats`` of the first ``per_sol`` photos of each sol."""
    sol = photos["sol"].to_numpy()
    starts = np.r_[0, np.flatnonzero(np.diff(sol)) + 1]
    rank = np.arange(len(sol)) - np.repeat(starts, np.diff(np.r_[starts, len(sol)]))
    chosen = photos.filter(pa.array(rank < per_sol))
    n = chosen.num_rows
    rng = np.random.default_rng(seed)
    image_id = pc.binary_join_element_wise(chosen["product_id"], pa.scalar(".JPG"), "")
    keys = {
        "image_id": image_id,
        "product_id": chosen["product_id"],
        "rover": chosen["rover"],
        "sol": chosen["sol"],
        "camera": chosen["camera"],
    }
    images = _table(
        "images",
        keys
        | {
            "source": np.full(n, "download"),
            "uri": chosen["img_src"],
            "bytes": rng.integers(150_000, 900_000, n),
            "width": chosen["width"],
            "height": chosen["height"],
            "mode": np.full(n, "L"),
            "sha256": [f"{h:064x}" for h in rng.integers(0, 2**62, n).tolist()],
            "ingested_at": pa.array([INGESTED] * n, pa.timestamp("us", tz="UTC")),
        },
    )
    freq = (np.arange(RADIAL_BINS) + 0.5) * 0.5 / RADIAL_BINS
    slope = rng.normal(-2.6, 0.35, n)
    radial = np.exp(np.log(freq)[None, :] * slope[:, None] + rng.normal(3, 0.5, (n, 1)))
    stats: dict = {}
    for f in storage_schema("image_stats"):
        if f.name in keys or f.name in stats:
            continue
        if pa.types.is_list(f.type) and f.name.endswith("_hist"):
            stats[f.name] = _lists(rng.integers(0, 6000, (n, 256))) if f.name == "gray_hist" else pa.nulls(n, f.type)
        elif pa.types.is_floating(f.type):
            stats[f.name] = (
                pa.nulls(n, f.type) if f.name.startswith(("red_", "green_", "blue_")) else rng.uniform(0, 255, n)
            )
    stats |= {
        "width": chosen["width"],
        "height": chosen["height"],
        "mode": np.full(n, "L"),
        "bit_depth": pa.array(np.full(n, 8), pa.int8()),
        "channels": pa.array(np.full(n, 1), pa.int8()),
        "notes": np.full(n, ""),
        "brightness_norm": rng.beta(4, 6, n),
        "entropy_bits": rng.uniform(5, 7.9, n),
        "sharpness": rng.lognormal(-7, 1, n),
        "saturated_fraction": rng.uniform(0, 0.01, n),
        "black_fraction": rng.uniform(0, 0.01, n),
        "fft_mean_magnitude": rng.uniform(0.001, 0.01, n),
        "radial_power": _lists(radial),
        "radial_frequency": _lists(np.tile(freq, (n, 1))),
        "spectral_slope": slope,
        "hf_energy_fraction": rng.beta(2, 30, n),
        "hf_cutoff_rho": np.full(n, 0.5),
    }
    return images, _table("image_stats", keys | stats)


#: Every QUALITY_FLAG_EVERY-th image of a batch is flagged blank and low_information.
QUALITY_FLAG_EVERY = 50


def quality_rows(stats: pa.Table, seed: int) -> pa.Table:
    """silver ``image_quality`` of the image_stats rows ``stats``: random 64-bit hashes (no near
    duplicates), every QUALITY_FLAG_EVERY-th image flagged blank and low_information, the
    image's own size as its camera's full frame."""
    n = stats.num_rows
    rng = np.random.default_rng(seed)
    flagged = np.arange(n) % QUALITY_FLAG_EVERY == QUALITY_FLAG_EVERY - 1
    cols = {k: stats[k] for k in ("image_id", "product_id", "rover", "sol", "camera", "width", "height")}
    return _table(
        "image_quality",
        cols
        | {
            "full_frame_width": stats["width"],
            "full_frame_height": stats["height"],
            "phash": rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64),
            "flags": [["blank", "low_information"] if f else [] for f in flagged],
            **{f"flag_{k}": np.zeros(n, bool) for k in ("black", "saturated", "truncated", "small_frame")},
            "flag_blank": flagged,
            "flag_low_information": flagged,
            "quality_version": np.full(n, "1"),
        },
    )


def _lists(values: np.ndarray) -> pa.ListArray:
    """A list array of the rows of the 2-D ``values``."""
    n, k = values.shape
    return pa.ListArray.from_arrays(pa.array(np.arange(0, n * k + 1, k, dtype=np.int32)), pa.array(values.ravel()))


def _quarantine(records: list[tuple], table: str = "photo_quarantine") -> pa.Table:
    """A quarantine table of ``(rover, sol, record_key, source, reason, raw)`` tuples."""
    keys = ("rover", "sol", "record_key", "source", "reason", "raw")
    rows = [dict(zip(keys, r, strict=True)) | {"quarantined_at": INGESTED} for r in records]
    return pa.Table.from_pylist(rows, schema=storage_schema(table))


def quarantine_rows(photos: pa.Table, seed: int) -> pa.Table:
    """~0.2 % of the photos as photo_quarantine rows: a shape error naming the photo's URL (one
    group once URLs are masked) and a rover/sol mismatch naming sols (one group per sol)."""
    rng = np.random.default_rng(seed)
    picked = photos.filter(pa.array(rng.uniform(size=photos.num_rows) < 0.002)).select(["photo_id", "sol", "img_src"])
    records = []
    for i, r in enumerate(picked.to_pylist()):
        reason = (
            f"ResponseShapeError: 'date_taken' is not an ISO 8601 time in {r['img_src']}"
            if i % 3
            else f"photo of curiosity sol {r['sol'] + 1} in the curiosity sol {r['sol']} response"
        )
        raw = json.dumps({"id": r["photo_id"], "sol": r["sol"], "img_src": r["img_src"], "date_taken": "n/a"})
        records.append((ROVER, r["sol"], str(r["photo_id"]), "jpl_msl", reason, raw))
    return _quarantine(records)


def image_quarantine_rows(images: pa.Table) -> pa.Table:
    """The first 3 images of the batch as failed downloads (an HTTP 404 naming the URL)."""
    first = images.slice(0, 3).select(["sol", "product_id", "uri"]).to_pylist()
    reason = "unavailable: HTTP 404 for {}"
    records = [(ROVER, r["sol"], r["product_id"], "download", reason.format(r["uri"]), r["uri"]) for r in first]
    return _quarantine(records, "image_quarantine")


def _commit(wh: Warehouse, table: str, data: pa.Table, partitions: list[tuple[str, int]] | None) -> None:
    meta = {
        "dagster_run_id": "mission-bench",
        "dagster_asset_key": f"silver/{table}",
        "dagster_partitions": delta_tables.describe_partitions(partitions) if partitions is not None else "all",
    }
    wh.write_silver_table(table, data, partitions, meta)


def reference_rows(mission: Mission) -> tuple[pa.Table, pa.Table]:
    """silver ``rovers`` (Curiosity) and ``cameras`` (the CAMERAS, all listed by the rover)."""
    last = mission.sols - 1
    rovers = pa.Table.from_pylist(
        [
            {
                "rover": ROVER,
                "rover_id": 5,
                "rover_name": "Curiosity",
                "landing_date": LANDING,
                "launch_date": dt.date(2011, 11, 26),
                "status": "active",
                "max_sol": last,
                "max_date": earth_dates(np.array([last])).to_pylist()[0],
                "total_photos": int(mission.counts.sum()),
                "as_of": "manifest",
            }
        ],
        schema=storage_schema("rovers"),
    )
    cameras = pa.Table.from_pylist(
        [
            {"rover": ROVER, "camera": c[0], "camera_full_name": c[0], "listed_by_rover": True, "photos_seen": True}
            for c in CAMERAS
        ],
        schema=storage_schema("cameras"),
    )
    return rovers, cameras


def drive_rows(mission: Mission) -> tuple[pa.Table, pa.Table]:
    """silver ``waypoints`` (one per drive sol, ~55 % of sols) and ``traverse`` (one leg of
    LEG_VERTICES vertices ending at each waypoint), a random walk near Gale crater."""
    rng = np.random.default_rng(mission.seed + 1)
    sols = np.flatnonzero(rng.uniform(size=mission.sols) < 0.55)
    n = len(sols)
    dist = rng.gamma(2, 15, n)
    heading = np.cumsum(rng.normal(0, 0.6, n))
    metres_per_degree = 3_389_500 * math.pi / 180
    lon = 137.4417 + np.cumsum(dist * np.cos(heading)) / metres_per_degree
    lat = -4.5895 + np.cumsum(dist * np.sin(heading)) / metres_per_degree
    site, drive = 1 + sols // 40, (sols % 40) * 12
    rmc = [f"{s}_{d}" for s, d in zip(site.tolist(), drive.tolist(), strict=True)]
    waypoints = _table(  # easting, northing, roll, pitch and tilt left null
        "waypoints",
        {
            "rover": np.full(n, ROVER),
            "sol": sols.astype(np.int64),
            "site": site,
            "drive": drive,
            "rmc": rmc,
            "lon": lon,
            "lat": lat,
            "elevation_m": -4500 + np.cumsum(rng.normal(0, 0.5, n)),
            "yaw_deg": np.degrees(heading) % 360,
            "dist_m": dist,
            "dist_total_m": np.cumsum(dist),
        },
    )
    t = np.linspace(0, 1, LEG_VERTICES)
    lon0, lat0 = np.r_[137.4417, lon[:-1]], np.r_[-4.5895, lat[:-1]]
    leg_lon, leg_lat = lon0[:, None] + (lon - lon0)[:, None] * t, lat0[:, None] + (lat - lat0)[:, None] * t
    geometry = [
        "LINESTRING (" + ", ".join(f"{x:.7f} {y:.7f}" for x, y in zip(xs, ys, strict=True)) + ")"
        for xs, ys in zip(leg_lon, leg_lat, strict=True)
    ]
    traverse = _table(
        "traverse",
        {
            "rover": np.full(n, ROVER),
            "sol": sols.astype(np.int64),
            "from_rmc": ["1_0", *rmc[:-1]],
            "to_rmc": rmc,
            "length_m": dist,
            "n_points": pa.array(np.full(n, LEG_VERTICES), pa.int32()),
            "start_lon": lon0,
            "start_lat": lat0,
            "end_lon": lon,
            "end_lat": lat,
            "geometry": geometry,
        },
    )
    return waypoints, traverse


def landing_rows(mission: Mission, files: int = 500) -> pa.Table:
    """``files`` landing-zone files, one in ten quarantined (an unknown product id form)."""
    sols = np.random.default_rng(mission.seed + 2).integers(0, mission.sols, files).tolist()
    bad = [i % 10 == 0 for i in range(files)]
    products = [
        f"XYZ_{i:06d}" if b else f"NLB_{397_502_000 + int(s * SOL_SECONDS)}EDR_F0000000NCAM{i:05d}M_"
        for i, (s, b) in enumerate(zip(sols, bad, strict=True))
    ]
    return _table(
        "landing_files",
        {
            "path": [f"incoming/{p}.JPG" for p in products],
            "bytes": 200_000 + np.arange(files),
            "modified_at": [INGESTED] * files,
            "product_id": products,
            "rover": [None if b else ROVER for b in bad],
            "sol": [None if b else s for s, b in zip(sols, bad, strict=True)],
            "camera": [None if b else "NAV_LEFT_B" for b in bad],
            "status": ["quarantined" if b else "routed" for b in bad],
            "reason": ["unknown product id form: XYZ" if b else None for b in bad],
        },
    )


def write_mission(wh: Warehouse, mission: Mission, batch: int = 100, images_per_sol: int = 10) -> dict[str, int]:
    """Write the synthetic mission's silver tables through ``wh.write_silver_table``: photos,
    images, image_stats, image_quality and the quarantine tables in one commit per table per ``batch`` sols
    (the rows of one batch are all this holds at a time), then the whole-table ones (manifest
    sols, rovers, cameras, waypoints, traverse, landing files). Returns rows per table."""
    written = dict.fromkeys(
        ("photos", "images", "image_stats", "image_quality", "photo_quarantine", "image_quarantine"), 0
    )
    manifest: list[dict] = []
    for first in range(0, mission.sols, batch):
        last = min(first + batch, mission.sols) - 1
        parts = [(ROVER, s) for s in range(first, last + 1)]
        photos = photo_rows(mission, first, last)
        images, stats = image_rows(photos, images_per_sol, mission.seed + first)
        tables = {
            "photos": photos,
            "images": images,
            "image_stats": stats,
            "image_quality": quality_rows(stats, mission.seed + first),
            "photo_quarantine": quarantine_rows(photos, mission.seed + first),
            "image_quarantine": image_quarantine_rows(images),
        }
        for name, data in tables.items():
            _commit(wh, name, data, parts)
            written[name] += data.num_rows
        manifest += manifest_rows(photos, first, last)
        del photos, images, stats, tables
    rovers, cameras = reference_rows(mission)
    waypoints, traverse = drive_rows(mission)
    whole = {
        "manifest_sols": pa.Table.from_pylist(manifest, schema=storage_schema("manifest_sols")),
        "rovers": rovers,
        "cameras": cameras,
        "waypoints": waypoints,
        "traverse": traverse,
        "landing_files": landing_rows(mission),
    }
    for name, data in whole.items():
        _commit(wh, name, data, None)
        written[name] = data.num_rows
    return written

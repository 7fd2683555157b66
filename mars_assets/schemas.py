"""Every table contract of mars_assets, once: the silver Parquet schemas and the bronze image index.

Pure (pyarrow and the standard library; no Dagster). Each silver field carries a one-line
description in its field metadata (``{b"description": ...}``) with its units and where the
value comes from; :mod:`mars_assets.metadata` turns a schema into ``dagster/column_schema``.

Units and terms: sol = Mars solar day since landing (sol 0 = landing; 1 sol = 88,775.244 s);
SCLK = spacecraft clock seconds; RMC = rover motion counter ``site_drive``; times are UTC;
lon/lat in degrees, distances and elevations in metres, sizes in bytes, dimensions in pixels.

Column names, types and order are those of the Parquet files; changing one changes the files.
The ``photos`` table (:data:`PHOTOS_SCHEMA`, :data:`PHOTO_ROW_KEYS`) and the field helpers are
defined in :mod:`mars_assets.schema_photos` and re-exported here: import them from this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import pyarrow as pa

from mars_assets.imaging import IMAGE_STATS_SCHEMA
from mars_assets.imaging.quality import FLAGS, QUALITY_VERSION
from mars_assets.schema_photos import (
    DESCRIPTION,
    PHOTO_ROW_KEYS,
    PHOTOS_SCHEMA,
    TS,
)
from mars_assets.schema_photos import described as _f
from mars_assets.schema_photos import rover_field as _rover

__all__ = [
    "CAMERAS_SCHEMA",
    "IMAGES_SCHEMA",
    "IMAGE_INDEX_NAME",
    "IMAGE_QUALITY_SCHEMA",
    "IMAGE_STATS_TABLE_SCHEMA",
    "LANDING_FILES_SCHEMA",
    "MANIFEST_SOLS_SCHEMA",
    "PHOTOS_SCHEMA",
    "PHOTO_ROW_KEYS",
    "QUARANTINE_SCHEMA",
    "ROVERS_SCHEMA",
    "MISSING",
    "SILVER_SCHEMAS",
    "STORED",
    "TRAVERSE_SCHEMA",
    "TS",
    "WAYPOINTS_SCHEMA",
    "ImageIndexEntry",
    "decode_image_index",
    "describe",
    "description_of",
    "encode_image_index",
]

# -- quarantine (photo_quarantine and image_quarantine) ----------------------------------
QUARANTINE_SCHEMA = pa.schema(
    [
        _rover(" of the partition the record was read for"),
        _f("sol", pa.int64(), "Sol (Mars solar day since landing) of the partition the record was read for."),
        _f("record_key", pa.string(), "Key of the rejected record: photo id or JPL product id; null when unknown."),
        _f(
            "source",
            pa.string(),
            "Origin: bronze page name (v1), jpl_mars2020 / jpl_ingenuity / jpl_msl, or landing / download (images).",
        ),
        _f(
            "reason",
            pa.string(),
            "Why it was rejected: '<Error>: <message>', a rover/sol mismatch, 'missing: ...' or 'undecodable: ...'.",
        ),
        _f("raw", pa.string(), "The rejected record as JSON, cut to 4000 characters (images: its uri)."),
        _f("quarantined_at", TS, "When silver quarantined the record (UTC)."),
    ]
)

# -- reference tables ---------------------------------------------------------------------
ROVERS_SCHEMA = pa.schema(
    [
        _rover(),
        _f(
            "rover_id",
            pa.int32(),
            "Photos API v1 rover `id` (5 Curiosity, 6 Opportunity, 7 Spirit, 8 Perseverance); null for Ingenuity.",
        ),
        _f("rover_name", pa.string(), "Rover name as NASA spells it (v1 rover `name`)."),
        _f("landing_date", pa.date32(), "Landing date (UTC date; sol 0): v1 `landing_date` or the mission reference."),
        _f("launch_date", pa.date32(), "Launch date (UTC date): v1 `launch_date` or the mission reference."),
        _f("status", pa.string(), "Mission status, active or complete: v1 rover `status`."),
        _f("max_sol", pa.int64(), "Last sol with photos the source reported (v1 `max_sol`); null from the reference."),
        _f("max_date", pa.date32(), "Earth date (UTC) of max_sol: v1 `max_date`; null from the reference."),
        _f("total_photos", pa.int64(), "Photos of the whole mission the source reported: v1 `total_photos`."),
        _f("as_of", pa.string(), "Record that gave the newest facts: rovers_listing, manifest, photos or reference."),
    ]
)
CAMERAS_SCHEMA = pa.schema(
    [
        _rover(),
        _f("camera", pa.string(), "Camera, v1 spelling: the rover object's `cameras[].name`, or silver photos."),
        _f("camera_full_name", pa.string(), "Camera full name: the rover's `cameras[].full_name`, else from photos."),
        _f("camera_id", pa.int32(), "Smallest v1 `camera.id` among the camera's photos; null without one."),
        _f("listed_by_rover", pa.bool_(), "True when a rover object (listing, manifest, photos) lists the camera."),
        _f("photos_seen", pa.bool_(), "True when silver photos holds at least one photo of the camera."),
    ]
)
MANIFEST_SOLS_SCHEMA = pa.schema(
    [
        _rover(),
        _f("sol", pa.int64(), "Sol of the manifest entry (Mars solar day since landing): v1 manifest `photos[].sol`."),
        _f("earth_date", pa.date32(), "Earth date (UTC) of the sol: manifest `earth_date`; null when absent."),
        _f("total_photos", pa.int64(), "Photos the manifest lists for the sol: `total_photos`."),
        _f("cameras", pa.list_(pa.string()), "Cameras with photos on the sol, sorted: manifest `cameras`."),
    ]
)

# -- MMGIS localizations ------------------------------------------------------------------
WAYPOINTS_SCHEMA = pa.schema(
    [
        _rover(),
        _f("sol", pa.int64(), "Sol of the localization (Mars solar day since landing): MMGIS waypoint layer `sol`."),
        _f("site", pa.int64(), "Site index: MMGIS waypoint layer `site`."),
        _f("drive", pa.int64(), "Drive index within the site: MMGIS waypoint layer `drive`."),
        _f("rmc", pa.string(), "Rover motion counter site_drive: MMGIS `RMC`, else built from site and drive."),
        _f("lon", pa.float64(), "Longitude, degrees: Point coordinate 0 of the MMGIS waypoint."),
        _f("lat", pa.float64(), "Latitude, degrees: Point coordinate 1 of the MMGIS waypoint."),
        _f("elevation_m", pa.float64(), "Elevation, metres: Point coordinate 2, else MMGIS `elev_geoid`."),
        _f("easting_m", pa.float64(), "Map easting, metres: MMGIS waypoint layer `easting`."),
        _f("northing_m", pa.float64(), "Map northing, metres: MMGIS waypoint layer `northing`."),
        _f("roll_deg", pa.float64(), "Rover roll, degrees: MMGIS waypoint layer `roll`."),
        _f("pitch_deg", pa.float64(), "Rover pitch, degrees: MMGIS waypoint layer `pitch`."),
        _f("yaw_deg", pa.float64(), "Rover yaw (heading), degrees: MMGIS waypoint layer `yaw`."),
        _f("tilt_deg", pa.float64(), "Rover tilt, degrees: MMGIS waypoint layer `tilt`."),
        _f("dist_m", pa.float64(), "Length of the drive that ended here, metres: MMGIS waypoint layer `dist_m`."),
        _f("dist_total_m", pa.float64(), "Odometry since landing, m: MMGIS `dist_total_m`, else `dist_total`."),
        _f("flag", pa.string(), "Localization flag, lower case: M20 `final` (y, m) or MSL `drive_type` (final)."),
        _f("mid_drive", pa.bool_(), "Mid-drive localization (flag m; dist_m 0 or the drive up to it); null: no flag."),
    ]
)
TRAVERSE_SCHEMA = pa.schema(
    [
        _rover(),
        _f("sol", pa.int64(), "Sol the leg ends on: traverse `sol`, else its end waypoint's; null: see reason."),
        _f("sol_source", pa.string(), "Where sol came from: layer (traverse `sol`) or waypoint_match; null if none."),
        _f("from_sol", pa.int64(), "Sol of the waypoint the leg starts at (a leg may span sols); null if unknown."),
        _f("from_rmc", pa.string(), "RMC (site_drive) the leg starts at: traverse `fromRMC`, else the waypoint's."),
        _f("to_rmc", pa.string(), "RMC (site_drive) the leg ends at: traverse `toRMC`, else the waypoint's."),
        _f("feature_index", pa.int64(), "Position of the leg's feature in the traverse layer (0-based)."),
        _f("part", pa.int32(), "Drive within the feature (0-based): a feature over several drive ends is cut there."),
        _f("length_m", pa.float64(), "Metres: traverse `length`/`Length` (a cut feature: its share); null if none."),
        _f("distance_m", pa.float64(), "Metres counted for the sol: length_m less the leg it extends; null if reason."),
        _f("match_m", pa.float64(), "Largest distance from the leg's end points to their waypoints, metres."),
        _f("reason", pa.string(), "Why the leg is not counted (no waypoint matched, a duplicate); null when counted."),
        _f("sclk_start", pa.float64(), "Leg start, SCLK (spacecraft clock seconds): MMGIS `SCLK_START`."),
        _f("sclk_end", pa.float64(), "Leg end, SCLK (spacecraft clock seconds): MMGIS `SCLK_END`."),
        _f("n_points", pa.int32(), "Vertices of the leg's line."),
        _f("start_lon", pa.float64(), "Longitude of the first vertex, degrees."),
        _f("start_lat", pa.float64(), "Latitude of the first vertex, degrees."),
        _f("end_lon", pa.float64(), "Longitude of the last vertex, degrees."),
        _f("end_lat", pa.float64(), "Latitude of the last vertex, degrees."),
        _f("geometry", pa.string(), "2-D WKT LINESTRING (lon lat, ...), degrees; MULTILINESTRING if parts split."),
    ]
)

# -- landing zone, images and image statistics --------------------------------------------
LANDING_FILES_SCHEMA = pa.schema(
    [
        _f("path", pa.string(), "Path of the image file relative to the landing-zone root (POSIX)."),
        _f("bytes", pa.int64(), "File size, bytes."),
        _f("modified_at", TS, "File modification time (UTC)."),
        _f("product_id", pa.string(), "Product id: the file name without directory and extension."),
        _f("rover", pa.string(), "Rover the product id names (lower case); null for an unknown form."),
        _f(
            "sol",
            pa.int64(),
            "Sol (Mars solar day since landing) the product id names or its clock gives; null when neither.",
        ),
        _f(
            "sol_source",
            pa.string(),
            "How the sol was found: name (the id carries the sol), clock (derived from the id's spacecraft "
            "clock, mars_assets.sources.mars_time); null when there is no sol.",
        ),
        _f("camera", pa.string(), "Camera the product id names, v1 spelling; null for an unknown form."),
        _f("status", pa.string(), "routed (rover and sol known: goes to bronze images) or quarantined."),
        _f("reason", pa.string(), "Why the file is quarantined (the product id parser's reason); null when routed."),
    ]
)

_IMAGE_KEY_FIELDS = [
    _f("image_id", pa.string(), "Bronze object name of the image (product id + extension), unique in its partition."),
    _f("product_id", pa.string(), "JPL product id of the image: bronze image index `product_id`."),
    _rover(" of the partition"),
    _f("sol", pa.int64(), "Sol (Mars solar day since landing) of the partition."),
    _f("camera", pa.string(), "Camera, v1 spelling: from the product id (landing) or the photo row (download)."),
]
IMAGES_SCHEMA = pa.schema(
    _IMAGE_KEY_FIELDS
    + [
        _f("source", pa.string(), "landing (a landing-zone file) or download (the photo's img_src)."),
        _f("uri", pa.string(), "Where the bytes came from: landing:<path> or the download URL."),
        _f("bytes", pa.int64(), "Size of the image file, bytes."),
        _f("width", pa.int32(), "Decoded image width, pixels."),
        _f("height", pa.int32(), "Decoded image height, pixels."),
        _f("mode", pa.string(), "Pillow mode of the file as stored (L, RGB, RGBA, P, I;16 ...)."),
        _f("sha256", pa.string(), "Hex SHA-256 of the image bytes (taken by bronze at ingest)."),
        _f("ingested_at", TS, "When silver read the image (UTC)."),
    ]
)
#: The key columns of images + one row of mars_assets.imaging statistics (their descriptions
#: are in IMAGE_STATS_SCHEMA); the schema metadata carries mars_assets.image_stats_version,
#: kept in each Parquet file.
IMAGE_STATS_TABLE_SCHEMA = pa.schema(_IMAGE_KEY_FIELDS + list(IMAGE_STATS_SCHEMA), metadata=IMAGE_STATS_SCHEMA.metadata)

#: What each quality flag column means (mars_assets.imaging.quality.FLAGS has the thresholds).
_FLAG_MEANINGS = {
    "black": "gray mean < 2 % of full scale, or >= 95 % of the pixels at 0 (an unlit frame)",
    "blank": "gray std < 0.4 % of full scale (a constant frame)",
    "saturated": ">= 50 % of the pixels at the top level (over-exposed)",
    "low_information": "entropy of the 256-bin gray histogram < 3 bits",
    "truncated": "the file was cut short and decoded only as far as it goes (image_stats notes)",
    "small_frame": "width × height < 25 % of full_frame_width × full_frame_height (a thumbnail filed as a frame)",
}
#: One row per image of silver image_stats: its quality flags, perceptual hash and duplicate group
#: (mars_assets.imaging.quality; written by defs/silver/image_quality.py). The schema metadata
#: carries mars_assets.image_quality_version (= the quality_version column).
IMAGE_QUALITY_SCHEMA = pa.schema(
    _IMAGE_KEY_FIELDS
    + [
        _f("width", pa.int32(), "Decoded image width, pixels (silver image_stats.width)."),
        _f("height", pa.int32(), "Decoded image height, pixels (silver image_stats.height)."),
        _f(
            "full_frame_width",
            pa.int32(),
            "Width of the camera's full frame, pixels: of the largest width × height of the rover × camera in "
            "silver image_stats when the row was written; null when the camera is unknown (small_frame not judged).",
        ),
        _f("full_frame_height", pa.int32(), "Height of that full frame, pixels (see full_frame_width)."),
        _f(
            "phash",
            pa.int64(),
            "64-bit DCT perceptual hash (imagehash.phash of the gray image decoded small, bits row by row) as a "
            "signed int64; null when the bronze bytes could not be read or decoded again (hash_error).",
        ),
        _f("hash_error", pa.string(), "Why phash is null (the bronze object missing or undecodable); null otherwise."),
        _f("flags", pa.list_(pa.string()), "The quality flags that apply, in FLAGS order; empty when none."),
    ]
    + [_f(f"flag_{name}", pa.bool_(), f"Flag {name}: {meaning}.") for name, meaning in _FLAG_MEANINGS.items()]
    + [
        _f(
            "duplicate_of",
            pa.string(),
            "image_id of the first frame (smallest image_id) of its near-duplicate group: the frames of one rover × "
            "camera × sol within 10 bits of phash Hamming distance, transitively; equal to image_id for that first "
            "frame, null for a frame without a near duplicate.",
        ),
        _f("quality_version", pa.string(), "Version of the flags, thresholds and hash (mars_assets.imaging.quality)."),
    ],
    metadata={"mars_assets.image_quality_version": QUALITY_VERSION},
)
assert tuple(_FLAG_MEANINGS) == FLAGS, "a flag column per mars_assets.imaging.quality.FLAGS"

#: Silver table name → schema (both quarantine tables share QUARANTINE_SCHEMA).
SILVER_SCHEMAS: dict[str, pa.Schema] = {
    "photos": PHOTOS_SCHEMA,
    "photo_quarantine": QUARANTINE_SCHEMA,
    "rovers": ROVERS_SCHEMA,
    "cameras": CAMERAS_SCHEMA,
    "manifest_sols": MANIFEST_SOLS_SCHEMA,
    "waypoints": WAYPOINTS_SCHEMA,
    "traverse": TRAVERSE_SCHEMA,
    "landing_files": LANDING_FILES_SCHEMA,
    "images": IMAGES_SCHEMA,
    "image_stats": IMAGE_STATS_TABLE_SCHEMA,
    "image_quarantine": QUARANTINE_SCHEMA,
    "image_quality": IMAGE_QUALITY_SCHEMA,
}


def description_of(field: pa.Field) -> str:
    """The field's ``description`` metadata, stripped ("" when it has none)."""
    raw = (field.metadata or {}).get(DESCRIPTION, b"")
    return raw.decode().strip()


def describe(schema: pa.Schema) -> list[tuple[str, str, str]]:
    """``(name, Arrow type string, description)`` per field, in column order ("" for no description)."""
    return [(f.name, str(f.type), description_of(f)) for f in schema]


# -- bronze image index --------------------------------------------------------------------
#: Name of the index object in each ``bronze/images/rover=<r>/sol=<s>/`` folder.
IMAGE_INDEX_NAME = "_index.json"
STORED = "stored"
MISSING = "missing"


@dataclass(frozen=True)
class ImageIndexEntry:
    """One image attempt of a bronze image partition (one item of ``_index.json``).

    Attributes:
        object: name of the stored object in the partition folder (product id + extension);
            None when nothing was stored.
        product_id: JPL product id of the image.
        camera: camera, v1 spelling (from the product id or the photo row); None if unknown.
        source: "landing" (a landing-zone file) or "download" (a photo's img_src).
        uri: ``landing:<path>`` (path relative to the landing zone) or the download URL.
        status: "stored" (the bytes are in bronze) or "missing" (they could not be had).
        reason: why a "missing" image is missing; None when stored.
        sha256: hex SHA-256 of the stored bytes, taken by bronze at ingest; None when not
            stored, and in indexes written before bronze hashed its images.
    """

    object: str | None
    product_id: str
    camera: str | None
    source: str
    uri: str
    status: str
    reason: str | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        if self.status not in (STORED, MISSING):
            raise ValueError(f"image index status must be 'stored' or 'missing', not {self.status!r}")
        if self.status == STORED and not self.object:
            raise ValueError(f"stored image {self.product_id!r} has no object name")

    @property
    def stored(self) -> bool:
        return self.status == STORED

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``_index.json`` (keys in field order)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageIndexEntry:
        """An entry from its JSON object; ``reason`` and ``sha256`` may be absent (older indexes).

        Unknown keys are ignored. Raises KeyError for a missing required key, ValueError for
        a bad status.
        """
        optional = {"reason", "sha256"}
        return cls(**{f.name: data[f.name] if f.name not in optional else data.get(f.name) for f in fields(cls)})


def encode_image_index(entries: Iterable[ImageIndexEntry | Mapping[str, Any]]) -> bytes:
    """The body of ``_index.json``: a JSON list of entries, ``indent=1``, UTF-8."""
    items = [e if isinstance(e, ImageIndexEntry) else ImageIndexEntry.from_dict(e) for e in entries]
    return json.dumps([e.to_dict() for e in items], indent=1).encode()


def decode_image_index(body: bytes | str) -> list[ImageIndexEntry]:
    """The entries of an ``_index.json`` body (as :func:`encode_image_index` or older bronze wrote it).

    Raises ValueError when the body is not a JSON list of objects.
    """
    data = json.loads(body)
    if not isinstance(data, list) or not all(isinstance(e, Mapping) for e in data):
        raise ValueError("image index is not a JSON list of objects")
    return [ImageIndexEntry.from_dict(e) for e in data]

"""The silver ``photos`` table contract, and the field helpers every silver schema is built with.

Re-exported by :mod:`mars_assets.schemas` (import it from there); kept apart so that module stays
a readable size. Pure (pyarrow only). Units and terms as in :mod:`mars_assets.schemas`.
"""

from __future__ import annotations

import pyarrow as pa

#: Timestamps: microseconds, UTC.
TS = pa.timestamp("us", tz="UTC")

DESCRIPTION = b"description"


def _f(name: str, type_: pa.DataType, description: str) -> pa.Field:
    """A nullable field with its description in the field metadata."""
    return pa.field(name, type_, metadata={DESCRIPTION: description.encode()})


def _rover(where: str = "") -> pa.Field:
    names = "curiosity, ingenuity, opportunity, perseverance, spirit"
    return _f("rover", pa.string(), f"Rover (or helicopter) name, lower case ({names}){where}.")


#: Public names of the field helpers (mars_assets.schemas builds every other silver table with them).
described = _f
rover_field = _rover


# -- photos -------------------------------------------------------------------------------
#: One schema for every source; the columns after ingested_at come from the JPL feeds (null for v1).
PHOTOS_SCHEMA = pa.schema(
    [
        _f(
            "photo_id",
            pa.int64(),
            "Photo id: v1 `id`; JPL MSL `id`; Mars 2020: first 8 bytes of SHA-256 of `imageid` as a signed int64.",
        ),
        _rover(),
        _f("sol", pa.int64(), "Sol of the photo (Mars solar day since landing, 0..100000): v1 / JPL feed `sol`."),
        _f(
            "earth_date",
            pa.date32(),
            "Earth date of the sol (UTC date): v1 `earth_date`; JPL: landing + floor(sol × 88775.244 / 86400) days.",
        ),
        _f(
            "camera",
            pa.string(),
            "Camera, v1 spelling (MAST, NAVCAM_LEFT): v1 `camera.name`; JPL instrument mapped to v1, else kept as is.",
        ),
        _f("camera_id", pa.int32(), "Photos API v1 `camera.id`; null for the JPL feeds."),
        _f(
            "camera_full_name",
            pa.string(),
            "Camera full name: v1 `camera.full_name` or the v1 name of the JPL instrument; null when unknown.",
        ),
        _f(
            "img_src",
            pa.string(),
            "URL: Photos API v1 `img_src`, http upgraded to https; Mars 2020 `image_files.large`; MSL `https_url`.",
        ),
        _f(
            "product_id",
            pa.string(),
            "JPL product id: the img_src file name without extension (v1), the feed `imageid` (JPL).",
        ),
        _f("source", pa.string(), "Source of the row: photos_api_v1, jpl_mars2020, jpl_ingenuity or jpl_msl."),
        _f("ingested_at", TS, "When silver typed the row (UTC)."),
        _f(
            "sample_type",
            pa.string(),
            "Product kind: Mars 2020 `sample_type` (Full), MSL `extended.sample_type` (full, downsampled, subframe, "
            "chemcam prc ...; thumbnails dropped), 'full' for v1. Only full rows (null read as full) count against "
            "the manifest and in gold photo_gaps / camera_usage / sol_activity / mission_summary.",
        ),
        _f(
            "date_taken_utc",
            TS,
            "Acquisition time (UTC): JPL raw-image feed `date_taken_utc` (Mars 2020), `date_taken` (MSL); null for v1.",
        ),
        _f(
            "date_taken_mars",
            pa.string(),
            "Local mean solar time taken (Sol-00100M15:26:09.623): Mars 2020 `date_taken_mars`, MSL `extended.lmst`.",
        ),
        _f(
            "sclk",
            pa.float64(),
            "Spacecraft clock of the exposure, SCLK seconds (fractional where the feed gives them): MSL "
            "`spacecraft_clock`, Mars 2020 `extended.sclk`; v1: the whole seconds the img_src name carries "
            "(Mars 2020, MSL engineering camera, MER ids; a Mars 2020 name's clock is 0.2-3 s before its "
            "`extended.sclk` in the recorded images), null for names without one (MSL Mastcam/MAHLI/MARDI). "
            "Null when unknown ('UNK', '') or not a number: never a reason to quarantine.",
        ),
        _f("site", pa.int64(), "Rover site index at acquisition: JPL feed `site`; null for v1."),
        _f("drive", pa.int64(), "Drive index within the site at acquisition: JPL feed `drive`; null for v1."),
        _f(
            "mast_az",
            pa.float64(),
            "Azimuth of the remote-sensing mast at acquisition, degrees, as the feed gives it (frame not documented "
            "by JPL): MSL `extended.mast_az`, Mars 2020 `extended.mastAz` (number text); null for v1, when unknown "
            "('UNK', '') or not a number.",
        ),
        _f(
            "mast_el",
            pa.float64(),
            "Elevation of the remote-sensing mast at acquisition, degrees: MSL `extended.mast_el`, Mars 2020 "
            "`extended.mastEl`; null for v1, when unknown ('UNK', '') or not a number.",
        ),
        _f(
            "width",
            pa.int32(),
            "Image width, pixels: JPL `extended.dimension` (w,h; Mars 2020: the size of `full_res`, not of img_src); "
            "MSL: `subframe_rect` width ÷ `scale_factor`; null when unknown and for v1.",
        ),
        _f(
            "height",
            pa.int32(),
            "Image height, pixels: JPL `extended.dimension` (w,h; Mars 2020: the size of `full_res`); "
            "MSL: `subframe_rect` height ÷ `scale_factor`; null when unknown and for v1.",
        ),
        _f(
            "img_src_width",
            pa.int32(),
            "Width of the stored img_src, pixels. Mars 2020 (`large`, ≤ 1200 px wide): derived, full_res width "
            "capped at 1200 (the feed does not state it); MSL: = width (its one URL serves that image); "
            "null when unknown and for v1.",
        ),
        _f(
            "img_src_height",
            pa.int32(),
            "Height of the stored img_src, pixels. Mars 2020: full_res height scaled with the width to fit "
            "1200 px wide, rounded (derived); MSL: = height; null when unknown and for v1.",
        ),
        _f("img_src_small", pa.string(), "Mars 2020 `image_files.small` (320 px), https; null for other sources."),
        _f("img_src_medium", pa.string(), "Mars 2020 `image_files.medium` (800 px), https; null for other sources."),
        _f("img_src_full_res", pa.string(), "Mars 2020 `image_files.full_res` (PNG), https; null for other sources."),
        _f(
            "camera_known",
            pa.bool_(),
            "True for a v1 API camera (v1: listed by the long rover form, null with the short); false: unknown.",
        ),
    ]
)

#: Keys of a normalised photo row, in column order (what every photo parser returns).
PHOTO_ROW_KEYS: tuple[str, ...] = tuple(PHOTOS_SCHEMA.names)

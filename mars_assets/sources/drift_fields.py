"""The fields each upstream's records are known to carry: the field lists of the drift check.

Read by :mod:`mars_assets.sources.drift`. Notation: ``"?key"`` is optional (absent in some
real records), a value is ``|``-separated JSON types (``str``, ``int``, ``float``, ``number``
= ``int|float``, ``bool``, ``null``, ``array``) or a nested mapping (an object and its fields).

Built from the real recorded answers, which the drift tests check against field by field
(``mars_assets_tests/test_schema_drift.py``): a list reports no drift on any of them.

* ``photos_api_v1``: the v1 photo objects of the bundled snapshot
  (``mars_assets/snapshot/api/photos/*.json``, 4,800 photos of five rovers). The embedded
  ``rover`` was also served in the short form ``{id, name, landing_date, launch_date, status}``
  (:mod:`mars_assets.sources.photos_api`): the long form's other fields are optional.
* ``jpl_mars2020`` (and ``jpl_ingenuity``, the same feed): every image of
  ``mars_assets_tests/fixtures/live_captures/jpl/mars2020/`` (sols 888-890, a list page of
  100 SUPERCAM_RMI images of sols 94-106, a bare single image): 17 fields and the 17 of their
  ``camera``, ``extended`` and ``image_files`` objects, all in every image.
  ``"UNK"`` placeholders are strings, so they are no drift.
* ``jpl_msl``: the items of ``live_captures/jpl/msl/`` — the whole sol-86 answer (30 fields,
  8 in ``extended``) and the 13-key sol-1489 item (probably trimmed by its recorder): fields it
  lacks are optional. ``site`` / ``drive`` may also be strings or null (seen in other answers, issue 18);
  ``extended.filter_name`` null in both (a string where set, as Mars 2020's).
* MMGIS layers, per mission and layer (features: ``type``, ``properties``, ``geometry``):
  ``mars_assets/snapshot/traverse/*_waypoints_tosol*.geojson`` and
  ``mars_assets_tests/fixtures/mmgis_real/``. Waypoint numbers may be strings (copies where
  every property is a string and lon/lat are absent, ``M20_Localization_Spreadsheet_*``: the
  recorded-data README); early M20 copies name the odometry ``dist_total`` and lack ``final``
  and ``yaw_rad``; the ``_current`` copy adds ``images``. The MSL traverse has only ``Length``.

Pure (no imports).
"""

from __future__ import annotations

from typing import Any

#: A number of an MMGIS waypoint property: a JSON number, or its text in string-only copies.
_WNUM = "number|str"

#: The Mars 2020 RSS-API image (every field in every real image).
_M2020: dict[str, Any] = {
    "imageid": "str",
    "sol": "int",
    "site": "int",
    "drive": "str",
    "sample_type": "str",
    "date_taken_utc": "str",
    "date_taken_mars": "str",
    "date_received": "str",
    "camera": {
        "instrument": "str",
        "filter_name": "str",
        "camera_vector": "str",
        "camera_model_component_list": "str",
        "camera_position": "str",
        "camera_model_type": "str",
    },
    "extended": {
        "mastAz": "str",
        "mastEl": "str",
        "sclk": "str",
        "scaleFactor": "str",
        "xyz": "str",
        "subframeRect": "str",
        "dimension": "str",
    },
    "image_files": {"small": "str", "medium": "str", "large": "str", "full_res": "str"},
    "attitude": "str",
    "caption": "str",
    "credit": "str",
    "json_link": "str",
    "link": "str",
    "title": "str",
}

#: A Curiosity raw_image_items item: the fields of the trimmed sol-1489 item required, the rest optional.
_MSL: dict[str, Any] = {
    "id": "int",
    "imageid": "str",
    "sol": "int",
    "instrument": "str",
    "mission": "str",
    "url": "str",
    "https_url": "str",
    "link": "str",
    "date_taken": "str",
    "date_received": "str",
    "created_at": "str",
    "updated_at": "str",
    "extended": {
        "sample_type": "str",
        "lmst": "str|null",
        "mast_az": "str|null",
        "mast_el": "str|null",
        "filter_name": "str|null",
        "bucket": "str",
        "contributor": "str",
        "url_list": "str",
    },
    "?site": "int|str|null",
    "?drive": "int|str|null",
    "?spacecraft_clock": "number",
    "?subframe_rect": "str",
    "?scale_factor": "int",
    "?is_thumbnail": "bool",
    "?instrument_sort": "int",
    "?sample_type_sort": "int",
    "?title": "str",
    "?description": "str",
    "?image_credit": "str",
    "?attitude": "str",
    "?xyz": "str",
    "?camera_vector": "str",
    "?camera_position": "str",
    "?camera_model_type": "str",
    "?camera_model_component_list": "str",
}

#: A v1 photo object; the rover's long-form fields are optional (the short form).
_V1: dict[str, Any] = {
    "id": "int",
    "sol": "int",
    "earth_date": "str",
    "img_src": "str",
    "camera": {"id": "int", "name": "str", "rover_id": "int", "full_name": "str"},
    "rover": {
        "id": "int",
        "name": "str",
        "landing_date": "str",
        "launch_date": "str",
        "status": "str",
        "?max_sol": "int",
        "?max_date": "str",
        "?total_photos": "int",
        "?cameras": "array",
    },
}

#: Waypoint properties both missions' layers carry.
_WAYPOINT: dict[str, Any] = {
    "RMC": "str",
    "site": _WNUM,
    "drive": _WNUM,
    "sol": _WNUM,
    "easting": _WNUM,
    "northing": _WNUM,
    "elev_geoid": _WNUM,
    "?lon": _WNUM,
    "?lat": _WNUM,
    "roll": _WNUM,
    "pitch": _WNUM,
    "yaw": _WNUM,
    "?yaw_rad": _WNUM,
    "tilt": _WNUM,
    "dist_m": _WNUM,
    "?dist_total_m": _WNUM,
    "dist_km": _WNUM,
    "dist_mi": _WNUM,
}


def _feature(properties: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON feature with these properties."""
    return {"type": "str", "properties": properties, "geometry": {"type": "str", "coordinates": "array"}}


#: Source (photo source name, or ``mmgis_<mission>_<layer>``) → its records' fields.
FIELDS: dict[str, dict[str, Any]] = {
    "photos_api_v1": _V1,
    "jpl_mars2020": _M2020,
    "jpl_msl": _MSL,
    "mmgis_M20_waypoints": _feature(
        {
            **_WAYPOINT,
            "elev_radii": _WNUM,
            "radius": _WNUM,
            "Note": "str",
            "?final": "str",
            "?dist_total": _WNUM,
            "?images": "array",
        }
    ),
    "mmgis_MSL_waypoints": _feature({**_WAYPOINT, "drive_type": "str"}),
    "mmgis_M20_traverse": _feature(
        {
            "sol": "int",
            "fromRMC": "str",
            "toRMC": "str",
            "length": "number",
            "SCLK_START": "number",
            "SCLK_END": "number",
        }
    ),
    "mmgis_MSL_traverse": _feature({"Length": "number"}),
}
#: Sources that read another's records: Ingenuity's frames come from the Mars 2020 feed.
ALIASES: dict[str, str] = {"jpl_ingenuity": "jpl_mars2020"}

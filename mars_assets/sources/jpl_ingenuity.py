"""Ingenuity (the Mars Helicopter) raw images from JPL's Mars 2020 RSS-API feed.

The feed of :mod:`mars_assets.sources.jpl_mars2020` serves the helicopter's frames too: its
two cameras are the instruments ``HELI_NAV`` (Navigation Camera, black and white) and
``HELI_RTE`` (Color Camera), which the feed lists under "Mars Helicopter Tech Demo Cameras"
and serves with ``category=mars2020,ingenuity``. The query, as the raw-images website and
``MarsRaw/mars-raw-utils`` (``src/m20/remote.rs``: the category switches to
``mars2020,ingenuity`` for the ``HELI_*`` cameras) send it::

    https://mars.nasa.gov/rss/api/?feed=raw_images&category=mars2020,ingenuity&feedtype=json
        &search=|HELI_NAV|HELI_RTE
        &sol=N                         every Ingenuity image of sol N
        &num=1&page=0&order=sol+desc   the newest one (its sol is the latest sol)

Answers and images have the Mars 2020 shapes; the parse is that module's, for the vehicle
``ingenuity``: rows have ``rover = "ingenuity"``, ``source = "jpl_ingenuity"``, and a frame of
another instrument (``search`` not honoured) is *filtered* with reason ``"perseverance frame
filtered (..., served by jpl_mars2020)"``, so Perseverance's counts never hold a helicopter
frame and Ingenuity's never a rover frame. Ingenuity landed with Perseverance (2021-02-18),
so its sols are Perseverance's mission sols and its ``earth_date`` follows the same rule.
Pure: no Dagster import.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from mars_assets.sources.http import ApiResponse
from mars_assets.sources.instruments import INGENUITY_CAMERAS, known, m2020_vehicle
from mars_assets.sources.jpl_mars2020 import JplMars2020Source, images_of, parse_pages
from mars_assets.sources.values import ResponseShapeError, str_or_none, to_sol

SOURCE_NAME = "jpl_ingenuity"
ROVER = "ingenuity"
#: The query parameters of every Ingenuity request.
FEED_PARAMS: dict[str, str] = {
    "feed": "raw_images",
    "category": "mars2020,ingenuity",
    "feedtype": "json",
    "search": "|" + "|".join(INGENUITY_CAMERAS),
}
#: Images asked for by the latest-sol query (newest first).
LATEST_IMAGES = 1


def parse_latest_ingenuity_sol(body: Any) -> int:
    """The newest sol among the Ingenuity (``HELI_*``) images of a list-mode answer.

    Raises ResponseShapeError when the answer holds none (e.g. the ``search`` filter was
    not honoured and the newest images are Perseverance's) or has no image list.
    """
    sols = []
    for image in images_of(body):
        camera = image.get("camera") if isinstance(image, Mapping) else None
        instrument = str_or_none(known(camera.get("instrument"))) if isinstance(camera, Mapping) else None
        if instrument is not None and m2020_vehicle(instrument) == ROVER:
            try:
                sol = to_sol(known(image.get("sol")))
            except ValueError:
                continue
            if sol is not None:
                sols.append(sol)
    if not sols:
        raise ResponseShapeError("the answer holds no Ingenuity (HELI_*) image with a sol")
    return max(sols)


@dataclass
class JplIngenuitySource(JplMars2020Source):
    """Ingenuity raw images from the Mars 2020 feed (``category=mars2020,ingenuity&search=
    |HELI_NAV|HELI_RTE``); paging and ``page_size`` as :class:`JplMars2020Source`, whose
    ``base_url`` (``MARS_JPL_MARS2020_URL``) it shares. Rows are Ingenuity's only."""

    name: ClassVar[str] = SOURCE_NAME
    parse_bodies = staticmethod(functools.partial(parse_pages, vehicle=ROVER))
    read_latest_sol = staticmethod(parse_latest_ingenuity_sol)
    rovers: ClassVar[frozenset[str]] = frozenset({ROVER})
    feed_params: ClassVar[dict[str, str]] = FEED_PARAMS

    def latest(self) -> ApiResponse:
        """The newest Ingenuity image, verbatim: ``&num=1&page=0&order=sol desc`` (the
        ``latest=true`` answer names Perseverance's latest sol, not the helicopter's)."""
        return self.get(num=LATEST_IMAGES, page=0, order="sol desc")

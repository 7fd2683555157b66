"""Replays JPL's raw-image feeds (Mars 2020 RSS API, MSL ``raw_image_items``) from a snapshot's ``jpl/`` files."""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection
from typing import Any

from mars_assets.demo.responses import Answer, Query, first, json_answer
from mars_assets.demo.snapshot import Snapshot

JPL_M2020_PATH = "/rss/api/"
JPL_MSL_PATH = "/api/v1/raw_image_items/"
JPL_DEFAULT_PAGE = 50
JPL_MSL_MAX_PER_PAGE = 1000

#: A test on sol from one raw_image_items condition: ``check(sol, operand)``.
SolTest = tuple[Callable[[int, Any], bool], Any]
_SOL_OPS: dict[str, Callable[[int, int], bool]] = {
    "eq": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def mars2020(snapshot: Snapshot, q: Query) -> Answer:
    """``/rss/api/?feed=raw_images&category=mars2020&feedtype=json``: JPL's Perseverance feed.

    ``&sol=N`` the whole sol; ``&latest=true`` ``{latest_sol, latest_sols, new_count, sol_count,
    total, type, mission}``; list mode ``&num=N&page=P`` (0-based; 50 a page when ``num`` is
    absent), ordered by sol desc then ``date_taken_utc`` desc, optionally within ``&sol=N`` (this
    server honours paging within a sol; upstream reportedly ignores it — unverified). Answers
    ``{images, per_page (a string), page, total_results, total_images, type, mission}``; another
    ``feed`` or ``feedtype`` is a 404, a ``category`` without ``mars2020`` an empty list.
    """
    if first(q, "feed") != "raw_images" or (first(q, "feedtype") or "json") != "json":
        return json_answer(404, {"error": "unknown feed"})
    served = "mars2020" in (first(q, "category") or "").split(",")
    everything = _all_images(snapshot, "mars2020") if served else []
    if (first(q, "latest") or "").lower() == "true":
        sols = sorted(snapshot.jpl_sols("mars2020"), reverse=True) if served else []
        latest = sols[0] if sols else None
        return json_answer(
            200,
            {
                "latest_sol": latest,
                "latest_sols": sols[:10],
                "new_count": len(snapshot.jpl_images("mars2020", latest)) if latest is not None else 0,
                "sol_count": len(sols),
                "total": len(everything),
                "type": "latest",
                "mission": "mars2020",
            },
        )
    images = everything
    if first(q, "sol") is not None:
        sol = int(first(q, "sol"))
        images = [i for i in everything if int(i.get("sol")) == sol]
    images = sorted(
        images,
        key=lambda i: (int(i.get("sol")), str(i.get("date_taken_utc") or ""), str(i.get("imageid"))),
        reverse=True,
    )
    page = int(first(q, "page") or 0)
    if first(q, "num") is not None or first(q, "sol") is None:
        per_page = int(first(q, "num") or JPL_DEFAULT_PAGE)
        shown = images[page * per_page : (page + 1) * per_page]
    else:  # &sol=N alone: the whole sol, no paging
        per_page, shown = len(images), images
    return json_answer(
        200,
        {
            "images": shown,
            "per_page": str(per_page),
            "page": page,
            "total_results": len(images),
            "total_images": len(everything),
            "type": "search_results",
            "mission": "mars2020",
        },
    )


def msl(snapshot: Snapshot, q: Query) -> Answer:
    """JPL's Curiosity API, ``/api/v1/raw_image_items/``.

    E.g. ``?condition_1=msl:mission&condition_2={sol}:sol:in&per_page=&page=``. Conditions
    ``value:field:op`` on ``mission`` and ``sol`` (ops ``in`` with a comma list, ``eq``, ``gt``,
    ``gte``, ``lt``, ``lte``; other fields ignored); ordered sol desc, instrument asc, sample type
    asc, ``date_taken`` desc; ``per_page`` (50 when absent, at most 1000) and ``page`` 0-based;
    answers ``{items, more, total, page, per_page}``.
    """
    per_page = min(int(first(q, "per_page") or JPL_DEFAULT_PAGE), JPL_MSL_MAX_PER_PAGE)
    page = int(first(q, "page") or 0)
    if per_page < 1 or page < 0:
        return json_answer(400, {"error": "per_page must be >= 1 and page >= 0"})
    mission_ok, tests = True, []
    for key in sorted(k for k in q if k.startswith("condition_")):
        value, _, rest = q[key][0].partition(":")
        field, _, op = rest.partition(":")
        if field == "mission":
            mission_ok = mission_ok and value.lower() == "msl"
        elif field == "sol":
            tests.append(_sol_test(value, op))
    items = (
        [i for i in _all_images(snapshot, "msl") if all(check(int(i.get("sol")), n) for check, n in tests)]
        if mission_ok
        else []
    )
    # order=sol desc, instrument_sort asc, sample_type_sort asc, date_taken desc (stable sorts, last key first)
    items.sort(key=lambda i: (str(i.get("date_taken") or ""), _int_key(i.get("id"))), reverse=True)
    items.sort(key=lambda i: str((i.get("extended") or {}).get("sample_type") or ""))
    items.sort(key=lambda i: str(i.get("instrument") or ""))
    items.sort(key=lambda i: int(i.get("sol")), reverse=True)
    shown = items[page * per_page : (page + 1) * per_page]
    return json_answer(
        200,
        {
            "items": shown,
            "more": (page + 1) * per_page < len(items),
            "total": len(items),
            "page": page,
            "per_page": per_page,
        },
    )


def _all_images(snapshot: Snapshot, feed: str) -> list[dict[str, Any]]:
    """Every recorded image of ``feed``, sol by sol from the newest."""
    out: list[dict[str, Any]] = []
    for sol in sorted(snapshot.jpl_sols(feed), reverse=True):
        out.extend(snapshot.jpl_images(feed, sol))
    return out


def _sol_test(value: str, op: str) -> SolTest:
    """The test on sol of a raw_image_items condition ``value:sol:op``; ValueError (→ 400) otherwise."""
    if op == "in":
        return _is_in, {int(v) for v in value.split(",") if v.strip()}
    n = int(value)
    if op not in _SOL_OPS:
        raise ValueError(f"unsupported sol condition operator {op!r}")
    return _SOL_OPS[op], n


def _is_in(sol: int, wanted: Collection[int]) -> bool:
    return sol in wanted


def _int_key(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0

"""HTTP clients of JPL's raw-image feeds as Dagster resources (Perseverance and Curiosity).

The live upstreams since the Mars Rover Photos API v1 was retired (October 2025); routes,
parameters and fields in ``shared/docs/NASA_SOURCES.md`` §2 and in the parsers
:mod:`mars_assets.sources.jpl_mars2020` and :mod:`mars_assets.sources.jpl_msl`.

Both feeds are keyless. Retries are those of :func:`mars_assets.resources.http.make_session`
(urllib3 ``Retry``: exponential backoff on 429 and 5xx for GET, honouring ``Retry-After``
up to ``max_retry_after_seconds``). Every method returns the HTTP responses verbatim
(:class:`~mars_assets.resources.http.ApiResponse`, for bronze) and raises

* :class:`~mars_assets.resources.http.RateLimitError` — HTTP 429 after every retry;
* :class:`~mars_assets.resources.http.ApiError` — any other non-2xx answer (5xx after
  retries, 4xx at once), a connection failure (status 0), or a 2xx body the paging logic
  cannot read (not JSON, no image list: the status is the HTTP status, the message says so);
* ``RuntimeError`` — a sol still unfinished after ``max_pages`` pages.

MMGIS traverse layers need no new client: ``MmgisClient().get(mmgis.traverse_path("M20"))``.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import dagster as dg
import requests
from pydantic import Field, PrivateAttr

from mars_assets.resources.http import ApiError, ApiResponse, RateLimitError, make_session
from mars_assets.sources import jpl_mars2020, jpl_msl
from mars_assets.sources.photos_api import ResponseShapeError

__all__ = ["JplMars2020Client", "JplMslClient"]


class _JplFeedClient(dg.ConfigurableResource):
    """Shared transport of the two JPL feed clients (not a resource of its own)."""

    base_url: str = Field(default="", description="Feed endpoint URL")
    timeout_seconds: float = Field(default=60.0, description="Per-request read timeout (seconds)")
    retries: int = Field(default=5, description="urllib3 retries on 429/5xx and connection errors")
    backoff_factor: float = Field(default=1.0, description="urllib3 exponential backoff factor (seconds)")
    max_retry_after_seconds: float = Field(default=60.0, description="Cap on an honoured Retry-After")
    max_pages: int = Field(default=200, description="Safety stop for one sol's paging loop")
    repeat_retries: int = Field(default=2, description="Requests again of a page that repeats earlier pages")

    _session: requests.Session | None = PrivateAttr(default=None)

    def _get_session(self) -> requests.Session:
        if self._session is None:
            self._session = make_session(self.retries, self.backoff_factor, self.max_retry_after_seconds)
        return self._session

    def _fixed_params(self) -> dict[str, Any]:
        return {}

    def get(self, **params: Any) -> ApiResponse:
        """GET ``base_url`` with the feed's fixed parameters plus ``params``.

        Returns the 2xx response verbatim. Raises RateLimitError (429 after retries) or
        ApiError (other non-2xx; status 0 for a connection failure).
        """
        url = self.base_url
        query = {**self._fixed_params(), **params}
        shown = url + ("?" + urlencode(query) if query else "")
        try:
            r = self._get_session().get(url, params=query, timeout=self.timeout_seconds)
        except requests.RequestException as exc:
            raise ApiError(0, shown, f"{type(exc).__name__}: {exc}") from None
        if r.status_code == 429:
            ra = r.headers.get("Retry-After")
            raise RateLimitError(shown, r.text, float(ra) if ra and ra.isdigit() else None)
        if not 200 <= r.status_code < 300:
            raise ApiError(r.status_code, shown, r.text)
        return ApiResponse(shown, r.status_code, r.content, dict(r.headers))


def _unusable(resp: ApiResponse, exc: Exception) -> ApiError:
    return ApiError(resp.status, resp.url, f"unusable response body: {exc}")


class JplMars2020Client(_JplFeedClient):
    """Perseverance raw images: ``{base_url}?feed=raw_images&category=mars2020&feedtype=json``.

    ``page_size=0`` (default) fetches a sol in one ``&sol=N`` request (the whole sol, ~20 s
    upstream); ``page_size>0`` pages it in list mode ``&sol=N&num={page_size}&page=P&order=sol desc``
    (P 0-based). Upstream is reported to ignore ``num``/``page`` once ``sol`` is set
    (unverified): the loop then stops at the first page that brings no new imageid and
    does not keep that page.
    """

    base_url: str = Field(
        default=jpl_mars2020.FEED_URL, description="Perseverance feed endpoint (the replay server's /rss/api/ in tests)"
    )
    page_size: int = Field(default=0, description="0: whole sol in one request; N>0: list mode, N images a page")

    def _fixed_params(self) -> dict[str, Any]:
        return dict(jpl_mars2020.FEED_PARAMS)

    def sol_pages(self, sol: int) -> list[ApiResponse]:
        """Every response of sol ``sol``, in order (one response when ``page_size`` is 0).

        List mode stops at a short page (fewer than ``page_size`` images, so a sol of
        exactly full pages ends with an empty page), once ``total_results`` is reached,
        or at a page of already-seen imageids (not kept). Raises RuntimeError past
        ``max_pages``; ApiError/RateLimitError as the module says.
        """
        if self.page_size <= 0:
            return [self.get(sol=int(sol))]
        pages: list[ApiResponse] = []
        seen: set[str] = set()
        for page in range(self.max_pages):
            resp = self.get(sol=int(sol), num=self.page_size, page=page, order="sol desc")
            try:
                images = jpl_mars2020.images_of(resp.body)
                total = jpl_mars2020.page_info(resp.body)["total_results"]
            except ResponseShapeError as exc:
                raise _unusable(resp, exc) from None
            ids = {str(i.get("imageid")) for i in images if isinstance(i, dict)}
            if page > 0 and ids and ids <= seen:
                return pages  # paging ignored upstream: this page repeats earlier ones
            pages.append(resp)
            seen |= ids
            if len(images) < self.page_size or (total is not None and (page + 1) * self.page_size >= total):
                return pages
        raise RuntimeError(f"perseverance sol {sol}: more than {self.max_pages} pages; raise max_pages")

    def list_pages(self, num: int = 100, min_sol: int | None = None, max_pages: int | None = None) -> list[ApiResponse]:
        """Newest images first, in list mode ``&num={num}&page=P&order=sol desc`` (no sol filter).

        Stops at a short or empty page, once ``total_results`` is reached, after the first
        page holding an image of a sol below ``min_sol`` (that page is kept: filter rows by
        sol), or after ``max_pages`` pages (default ``self.max_pages``) — a bounded scan,
        no error. For incremental loads: "everything since sol X".
        """
        pages: list[ApiResponse] = []
        for page in range(self.max_pages if max_pages is None else max_pages):
            resp = self.get(num=int(num), page=page, order="sol desc")
            try:
                images = jpl_mars2020.images_of(resp.body)
                total = jpl_mars2020.page_info(resp.body)["total_results"]
            except ResponseShapeError as exc:
                raise _unusable(resp, exc) from None
            pages.append(resp)
            sols = [s for s in (_int_or_none(i.get("sol")) for i in images if isinstance(i, dict)) if s is not None]
            if (
                len(images) < num
                or (total is not None and (page + 1) * num >= total)
                or (min_sol is not None and sols and min(sols) < min_sol)
            ):
                break
        return pages

    def latest(self) -> ApiResponse:
        """The ``&latest=true`` response verbatim (``{latest_sol, latest_sols, new_count, ...}``)."""
        return self.get(latest="true")

    def latest_sol(self) -> int:
        """The feed's ``latest_sol``. Raises ApiError when the body has none (or on HTTP errors)."""
        resp = self.latest()
        try:
            return jpl_mars2020.parse_latest_sol(resp.body)
        except ResponseShapeError as exc:
            raise _unusable(resp, exc) from None


class JplMslClient(_JplFeedClient):
    """Curiosity raw images: ``{base_url}?order=...&per_page=N&page=P&condition_1=msl:mission&condition_2={sol}:sol:in``.

    ``per_page`` 1..1000 (upstream maximum), ``page`` 0-based, paging until ``more`` is false.
    """

    base_url: str = Field(
        default=jpl_msl.FEED_URL, description="Curiosity raw_image_items endpoint (the replay server's in tests)"
    )
    per_page: int = Field(default=200, description="Items a page, 1..1000")

    def _params(self, page: int, per_page: int, sol: int | None) -> dict[str, Any]:
        if not 1 <= per_page <= jpl_msl.MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1..{jpl_msl.MAX_PER_PAGE}, not {per_page}")
        params: dict[str, Any] = {
            "order": jpl_msl.ORDER,
            "per_page": per_page,
            "page": page,
            "condition_1": jpl_msl.MISSION_CONDITION,
        }
        if sol is not None:
            params["condition_2"] = jpl_msl.sol_condition(sol)
        return params

    def sol_pages(self, sol: int) -> list[ApiResponse]:
        """Every page of sol ``sol`` in order, until a page says ``more: false``.

        Without a ``more`` field a short page ends the sol; a page with ``more: true`` but
        no items ends it too (no endless loop). A page whose item ids were all on earlier
        pages (an upstream that ignores ``page``, a stale cache) is not kept and is asked
        for again up to ``repeat_retries`` times; still repeating, it is an ApiError.
        Raises ValueError for a bad ``per_page``, RuntimeError past ``max_pages``,
        ApiError/RateLimitError as the module says.
        """
        pages: list[ApiResponse] = []
        seen: set[str] = set()
        page = repeats = 0
        while page < self.max_pages:
            resp = self.get(**self._params(page, self.per_page, int(sol)))
            try:
                items = jpl_msl.items_of(resp.body)
                more = jpl_msl.page_info(resp.body)["more"]
            except ResponseShapeError as exc:
                raise _unusable(resp, exc) from None
            ids = {str(i.get("id")) for i in items if isinstance(i, dict) and i.get("id") is not None}
            if page > 0 and ids and ids <= seen:
                if repeats >= self.repeat_retries:
                    raise ApiError(
                        resp.status,
                        resp.url,
                        f"page {page} repeats earlier pages ({repeats + 1} times): "
                        f"the feed is not paging, curiosity sol {sol} left as it was",
                    )
                repeats += 1
                time.sleep(self.backoff_factor * repeats)
                continue
            pages.append(resp)
            seen |= ids
            repeats = 0
            if more is None:
                more = len(items) >= self.per_page
            if not more or not items:
                return pages
            page += 1
        raise RuntimeError(f"curiosity sol {sol}: more than {self.max_pages} pages; raise max_pages")

    def latest(self) -> ApiResponse:
        """The newest item (``per_page=1&page=0``, ordered by sol desc, no sol condition), verbatim."""
        return self.get(**self._params(0, 1, None))

    def latest_sol(self) -> int:
        """The sol of the newest Curiosity image. Raises ApiError when the feed returns no item."""
        resp = self.latest()
        try:
            return jpl_msl.parse_latest_sol(resp.body)
        except ResponseShapeError as exc:
            raise _unusable(resp, exc) from None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

"""The v1 client against the loopback replay server (real HTTP, real urllib3 Retry)."""

import json
import logging

import pytest

from mars_assets.sources.http import ApiError, RateLimitError
from mars_assets.sources.photos_api import PhotosApiSource

SECRET = "abcdefghijklmnopqrstuvwxyz0123456789SECRET"


def client(server, **kw) -> PhotosApiSource:
    return PhotosApiSource(
        base_url=server.photos_api_url, api_key=SECRET, **{"backoff_factor": 0.01, "max_retry_after_seconds": 0.2, **kw}
    )


def test_a_sol_is_one_request_without_page_by_default(replay):
    pages = client(replay).fetch_sol("curiosity", 1000)
    assert len(pages) == 1 and len(json.loads(pages[0].body)["photos"]) == 856  # the whole sol, as v1 answered
    assert "page=" not in replay.requests[0]


def test_paging_stops_at_the_first_short_page(replay):
    pages = client(replay, page_size=25).fetch_sol("curiosity", 1000)  # a mirror that pages, 25 a page
    counts = [len(json.loads(p.body)["photos"]) for p in pages]
    assert len(pages) == 35  # 856 photos = 34 full pages of 25 + 6
    assert counts[:-1] == [25] * 34 and counts[-1] == 6
    ids = [ph["id"] for p in pages for ph in json.loads(p.body)["photos"]]
    assert len(ids) == len(set(ids)) == 856


def test_a_sol_of_exactly_full_pages_ends_with_an_empty_page(replay):
    pages = client(replay, page_size=16).fetch_sol("curiosity", 1)  # 16 photos
    assert [len(json.loads(p.body)["photos"]) for p in pages] == [16, 0]


def test_429_then_success_is_retried_honouring_retry_after(replay):
    replay.fail_next(429, count=2, headers={"Retry-After": "0"})
    pages = client(replay).fetch_sol("curiosity", 1)
    assert len(json.loads(pages[0].body)["photos"]) == 16
    assert len(replay.requests) == 3  # two 429s, then the page


def test_503_is_retried(replay):
    replay.fail_next(503, count=1)
    assert client(replay).rovers_listing().status == 200
    assert len(replay.requests) == 2


def test_429_after_every_retry_raises_rate_limit_error_with_retry_after(replay):
    replay.fail_next(429, count=3, headers={"Retry-After": "120"})
    with pytest.raises(RateLimitError) as err:
        client(replay, retries=2).rovers_listing()
    assert err.value.retry_after == 120
    assert len(replay.requests) == 3


def test_unknown_rover_is_http_400_with_the_apis_message(replay):
    with pytest.raises(ApiError) as err:
        client(replay).fetch_sol("sojourner", 1)
    assert err.value.status == 400
    assert "Invalid Rover Name" in str(err.value)
    assert len(replay.requests) == 1  # a 400 is not retried


def test_rate_limit_headers_are_kept_for_bronze(replay):
    resp = client(replay).rovers_listing()
    assert resp.sidecar()["headers"]["X-RateLimit-Limit"] == "1000"
    assert int(resp.sidecar()["headers"]["X-RateLimit-Remaining"]) == 999


def test_api_key_never_in_errors_sidecars_or_logs(replay, caplog):
    caplog.set_level(logging.DEBUG)
    c = client(replay)
    resp = c.rovers_listing()
    assert SECRET in replay.requests[0]  # it was sent ...
    assert SECRET not in json.dumps(resp.sidecar()) and SECRET not in resp.url  # ... and is kept nowhere
    with pytest.raises(ApiError) as err:
        c.manifest("sojourner")
    assert SECRET not in str(err.value)
    assert "api_key=REDACTED" in caplog.text or "REDACTED" in str(err.value) or SECRET not in caplog.text
    assert SECRET not in caplog.text


def test_unreachable_endpoint_is_a_clear_error():
    c = PhotosApiSource(base_url="http://127.0.0.1:9/mars-photos/api/v1", api_key=SECRET, retries=0)
    with pytest.raises(ApiError) as err:
        c.rovers_listing()
    assert err.value.status == 0 and "ConnectionError" in str(err.value)
    assert SECRET not in str(err.value)

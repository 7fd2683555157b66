"""The synthetic mission snapshot (mars_assets.demo.synthetic) through the replay server and the real v1 client."""

import json
import time
import urllib.request

import pytest

from mars_assets.demo import ReplayServer, Snapshot
from mars_assets.demo.synthetic import earth_date_of_sol, write_mission
from mars_assets.sources.http import ApiError
from mars_assets.sources.photos_api import PhotosApiSource, parse_manifest, sort_for_paging
from mars_assets.sources.product_ids import parse_product_id

SOLS, BROKEN = 30, 17


@pytest.fixture(scope="module")
def mission(tmp_path_factory):
    return write_mission(tmp_path_factory.mktemp("mission"), sols=SOLS, photos_per_sol=5, broken_sols=[BROKEN])


def client(server: ReplayServer) -> PhotosApiSource:
    return PhotosApiSource(base_url=server.photos_api_url, api_key="k", backoff_factor=0.01)


def photos_of(pages) -> list[dict]:
    return [p for page in pages for p in json.loads(page.body)["photos"]]


def test_sols_are_served_with_unique_ids_and_the_sol_s_earth_date(mission):
    snapshot = Snapshot.open(mission.folder)
    assert snapshot.sols() == {"curiosity": set(range(SOLS))}
    assert mission.sols == list(range(SOLS)) and mission.photos == 5 * SOLS == mission.served_photos + 5
    with ReplayServer(snapshot) as server:
        api = client(server)
        served = {sol: photos_of(api.fetch_sol("curiosity", sol)) for sol in (0, 1, 2, 29)}
    ids = [p["id"] for photos in served.values() for p in photos]
    products = [parse_product_id(p["img_src"]) for photos in served.values() for p in photos]
    assert len(set(ids)) == len(ids) == 20
    assert len({p.product_id for p in products}) == 20
    landing = snapshot.photos("curiosity", 0)[0]["rover"]["landing_date"]
    for sol, photos in served.items():
        assert {p["sol"] for p in photos} == {sol}
        assert {p["earth_date"] for p in photos} == {earth_date_of_sol(_date(landing), sol).isoformat()}
        assert {p["rover"]["max_sol"] for p in photos} == {SOLS - 1}
        assert photos == sort_for_paging(photos)  # the file is in paging order already
    for p in products:  # a name with the sol (Mastcam) says the new sol
        assert p.rover == "curiosity" and p.sol in (None, *served)
    # sol 1000's earth_date is the recorded one (the rule as the API applied it)
    assert earth_date_of_sol(_date(landing), 1000).isoformat() == "2015-05-30"


def test_manifest_totals_and_cameras_equal_what_is_served(mission):
    with ReplayServer(mission.folder) as server:
        api = client(server)
        rover, entries = parse_manifest(api.manifest("curiosity").json())
        listing = json.loads(api.rovers_listing().body)["rovers"]
        served = {sol: photos_of(api.fetch_sol("curiosity", sol)) for sol in (3, 4, 28)}
    assert [e["sol"] for e in entries] == mission.sols
    assert rover["max_sol"] == SOLS - 1 and rover["total_photos"] == mission.photos
    assert [r["name"] for r in listing] == ["Curiosity"] and listing[0]["max_sol"] == SOLS - 1
    by_sol = {e["sol"]: e for e in entries}
    assert by_sol[BROKEN]["total_photos"] == 5  # listed: photo_gaps sees it missing until repaired
    for sol, photos in served.items():
        assert by_sol[sol]["total_photos"] == len(photos) == mission.photos_per_sol[sol]
        assert by_sol[sol]["cameras"] == sorted({p["camera"]["name"] for p in photos}) == mission.cameras_per_sol[sol]


def test_broken_sol_is_refused_by_the_client_and_repaired_by_writing_again(tmp_path):
    info = write_mission(tmp_path / "m", sols=4, photos_per_sol=3, broken_sols=[2], seed=7)
    with ReplayServer(info.folder) as server:
        with pytest.raises(ApiError, match=r"unusable response body: not JSON \(text/html") as err:
            client(server).fetch_sol("curiosity", 2)
        assert err.value.status == 200
        with urllib.request.urlopen(server.photos_api_url + "/rovers/curiosity/photos?sol=2&api_key=k") as r:
            assert b"synthetic broken sol" in r.read()
        ok = photos_of(client(server).fetch_sol("curiosity", 1))
        repaired = write_mission(tmp_path / "m", sols=4, photos_per_sol=3, seed=7)
        assert repaired.broken_sols == () and len(photos_of(client(server).fetch_sol("curiosity", 2))) == 3
        assert photos_of(client(server).fetch_sol("curiosity", 1)) == ok  # deterministic


def test_every_request_waits_the_latency_and_concurrent_requests_overlap(mission):
    from concurrent.futures import ThreadPoolExecutor

    with ReplayServer(mission.folder, latency=0.3) as server:
        t0 = time.perf_counter()
        client(server).rovers_listing()
        assert time.perf_counter() - t0 >= 0.3
        t0 = time.perf_counter()
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda sol: client(server).fetch_sol("curiosity", sol), range(6)))
        assert 0.3 <= time.perf_counter() - t0 < 6 * 0.3  # each sol is one page of 5: 6 requests overlapping
        with urllib.request.urlopen(server.stats_url) as r:
            stats = json.loads(r.read())
    assert stats["requests"] == 7 and stats["statuses"] == {"200": 7} and stats["latency_seconds"] == 0.3


def test_full_size_sols_vary_and_keep_product_ids_unique(tmp_path):
    info = write_mission(tmp_path / "full", sols=4, start_sol=998)
    assert all(599 <= n <= 899 for n in info.photos_per_sol.values())
    assert len(set(info.photos_per_sol.values())) > 1
    snapshot = Snapshot.open(info.folder)
    photos = [p for sol in info.sols for p in snapshot.photos("curiosity", sol)]
    assert len(photos) == info.photos
    assert len({parse_product_id(p["img_src"]).product_id for p in photos}) == info.photos
    assert len({p["id"] for p in photos}) == info.photos
    again = write_mission(tmp_path / "again", sols=2, start_sol=998)  # a smaller mission: the same sols

    def without_rover(photos):  # the embedded rover object carries the mission's max_sol and total
        return [{k: v for k, v in p.items() if k != "rover"} for p in photos]

    assert without_rover(snapshot.photos("curiosity", 999)) == without_rover(
        Snapshot.open(again.folder).photos("curiosity", 999)
    )
    assert "SYNTHETIC" in (info.folder / "SYNTHETIC.md").read_text()


def _date(text: str):
    import datetime as dt

    return dt.date.fromisoformat(text)

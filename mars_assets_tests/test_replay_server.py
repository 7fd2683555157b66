"""The replay server answers in the shape of the v1 API and MMGIS."""

import json
import urllib.error
import urllib.request


def get(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def test_whole_sol_without_page(replay):
    status, headers, body = get(replay.photos_api_url + "/rovers/Curiosity/photos?sol=0&api_key=DEMO_KEY")
    assert status == 200 and len(body["photos"]) == 3702
    assert "X-RateLimit-Remaining" in headers


def test_camera_filter_is_case_insensitive(replay):
    _, _, body = get(replay.photos_api_url + "/rovers/curiosity/photos?sol=1000&camera=navcam&api_key=K")
    assert len(body["photos"]) == 10


def test_sol_not_recorded_is_an_empty_list_and_unknown_rover_400(replay):
    assert get(replay.photos_api_url + "/rovers/spirit/photos?sol=2&api_key=K")[2] == {"photos": []}
    status, _, body = get(replay.photos_api_url + "/rovers/sojourner/photos?sol=1&api_key=K")
    assert status == 400 and body == {"errors": "Invalid Rover Name"}


def test_missing_key_is_403(replay):
    status, _, body = get(replay.photos_api_url + "/rovers")
    assert status == 403 and body["error"]["code"] == "API_KEY_MISSING"


def test_manifest_and_mmgis_layers_are_served(replay):
    _, _, body = get(replay.photos_api_url + "/manifests/curiosity?api_key=K")
    assert body["photo_manifest"]["max_sol"] == 2540
    _, _, layer = get(replay.mmgis_url + "/M20/Layers/json/M20_waypoints.json")
    assert layer["type"] == "FeatureCollection" and len(layer["features"]) == 586

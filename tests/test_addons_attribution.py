"""Which app sent a flow: the option, package names in headers, and the User-Agent forms of common SDKs."""

import pytest

from addons.attribute_apps import app_from_user_agent, attribute, is_package, own_site
from addons.snapshots import FlowSnapshot


@pytest.mark.parametrize("user_agent, app", [
    ("Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TQ3A.230805.001)", None),
    ("okhttp/4.12.0", None),
    ("Mozilla/5.0 (Linux; Android 13; Pixel 7; wv) AppleWebKit/537.36 Version/4.0 Chrome/120.0 Mobile Safari/537.36",
     None),
    ("Spotify/8.8.96 Android/33 (Pixel 7)", "Spotify/8.8.96"),
    ("Le%20Monde/9.1.2 CFNetwork/1410.0.3 Darwin/22.6.0", "Le Monde/9.1.2"),
    ("MyGame/5.6 (com.studio.mygame; build:1234; iOS 17.0.1) Alamofire/5.8.0", "com.studio.mygame"),
    ("com.example.app/3.1.1 (Linux; U; Android 13; Pixel 7)", "com.example.app/3.1.1"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) [FBAN/FBIOS;FBAV/440.0.0.36.105;FBBV/545]",
     "FBIOS/440.0.0.36.105"),
    ("", None),
])
def test_app_from_user_agent_reads_common_sdk_forms(user_agent, app):
    assert app_from_user_agent(user_agent) == app


def test_attribution_prefers_the_option_then_package_headers_then_the_user_agent():
    snap = FlowSnapshot("k", "http", "2025-01-01T00:00:00Z", request_headers=[
        ("User-Agent", "Spotify/8.8.96 Android/33"), ("X-Requested-With", "XMLHttpRequest")])
    assert attribute(snap) == ("Spotify/8.8.96", "user-agent")
    assert attribute(snap, "Le Monde") == ("Le Monde", "option")
    snap.request_headers.append(("X-Android-Package", "fr.lemonde.app"))
    assert attribute(snap) == ("fr.lemonde.app", "header")
    assert is_package("com.example.app") and not is_package("XMLHttpRequest") and not is_package("www.example.com.")
    assert own_site("com.spotify.music/8.8") == "spotify.com" and own_site("Spotify/8.8") is None

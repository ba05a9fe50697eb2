"""The device profile inside mitmdump: parsed once by DetectLeaks.configure, handed to the stages as an object.

The `mouchard_profile` option carries a path (the only thing that crosses into the mitmdump process); from there
the parsed `DeviceProfile` travels, pickled with the stages, to the recording process, which never reads the file.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons

from addons.detect_leaks import DetectLeaks, LeakStage, Redact
from addons.pipeline import Analyser
from addons.snapshots import FlowSnapshot
from demoweb import DATA as SAMPLES
from mouchard.identify.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
PROFILE_PATH = SAMPLES / "profiles" / "android.yml"
GAID = load_profile(PROFILE_PATH).value("advertising_id")


def test_stages_get_the_configured_profile_object_and_never_read_the_file_again(tmp_path):
    path = tmp_path / "phone.yml"
    shutil.copyfile(PROFILE_PATH, path)
    addon = DetectLeaks()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, mouchard_profile=str(path))
    path.unlink()  # whatever runs after configure must not need the file
    leaks, redact = addon.mouchard_stages()
    assert isinstance(leaks, LeakStage) and isinstance(redact, Redact) and redact.owner is leaks
    assert leaks.profile is addon.profile
    assert leaks.profile.identifiers == load_profile(PROFILE_PATH).identifiers
    assert leaks.profile.source == str(path)

    # What the recording process receives: the profile itself, no detector (built there by setup)
    stages = pickle.loads(pickle.dumps([leaks, redact]))
    assert stages[0].detector is None and stages[0].profile == addon.profile and stages[1].owner is stages[0]
    out: list = []
    analyser = Analyser(stages, out.extend).setup()
    analyser.handle(FlowSnapshot("k1", "http", "2025-03-01T12:00:00.000Z", method="GET",
                                 url=f"https://ads.example-sdk.com/v1?gaid={GAID}", host="ads.example-sdk.com",
                                 request_headers=[], status=200, response_headers=[]))
    analyser.close()
    assert [row["identifier"] for row in out[0].leaks] == ["advertising_id"]
    assert GAID not in out[0].flow["url"] and "[GAID]" in out[0].flow["url"]


def test_no_profile_means_no_leak_stages_and_a_bad_profile_stops_at_configure(tmp_path):
    addon = DetectLeaks()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, mouchard_profile=None)
        assert addon.profile is None and addon.mouchard_stages() == []
        bad = tmp_path / "bad.yml"
        bad.write_text("identifiers: {imei: '12'}\n", encoding="utf-8")
        with pytest.raises(exceptions.OptionsError, match=r"identifiers\.imei must be 14 to 16 digits"):
            tctx.configure(addon, mouchard_profile=str(bad))

"""benchmarks/trc.py's mapping of Tracker Radar Collector's breakpoint names to mouchard's catalogue names (pure
logic: the benchmark itself needs an installed TRC and is run by hand)."""

from __future__ import annotations

import sys
from pathlib import Path

from mouchard.detect.fingerprinting import BY_NAME

# benchmarks/ last and only while importing: its datasette.py must never shadow the datasette package
BENCHMARKS = str(Path(__file__).resolve().parent.parent / "benchmarks")
sys.path.append(BENCHMARKS)
try:
    import trc
finally:
    sys.path.remove(BENCHMARKS)



def test_trc_names_map_to_catalogue_names():
    cases = {
        "Navigator.prototype.userAgent": ("Navigator.userAgent",),
        "HTMLCanvasElement.prototype.toDataURL": ("HTMLCanvasElement.toDataURL",),
        "window.devicePixelRatio": ("Window.devicePixelRatio",),
        'window.matchMedia("pointer")': ("Window.matchMedia",),
        "Document.cookie getter": ("Document.cookie",),
        "document.fonts.check": ("FontFaceSet.check",),
        "speechSynthesis.__proto__.getVoices": ("SpeechSynthesis.getVoices",),
        "AudioContext.prototype.constructor": ("AudioContext.constructor",),
    }
    assert {name: trc.mouchard_api(name) for name in cases} == cases
    assert all(trc.in_catalogue(name) for name in cases)
    sensors = trc.mouchard_api("Sensor.constructor")
    assert len(sensors) > 1 and all(name.endswith(".constructor") for name in sensors)
    assert any(name in BY_NAME for name in sensors)

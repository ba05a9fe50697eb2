"""The banner's layout facts regulators cite, measured before any click: how big, how legible and how button-like
the accept and reject controls are, and which boxes are ticked before the visitor chose.

The CNIL (deliberation 2020-091) and the EDPB cookie banner taskforce (report of January 2023) ask that refusing
be as visible as accepting, and that no purpose be pre-ticked (CJEU C-673/17 Planet49). `measure()` reads the
first layer the consent collector found (its rule's banner selectors, the reject control it found, the accept
control found the same way, or autoconsent's popup frame) with ONE evaluation per frame in an isolated world
created over CDP (`Page.createIsolatedWorld`): `getComputedStyle`, `getBoundingClientRect` and the DOM walk are the
browser's own there, whatever the page did to its globals, and the page sees nothing. Everything runs under one
timeout; a failure is `{"error": ...}` in the layout, never a failed visit.

Colours come back as computed-style strings; the contrast ratio (WCAG 2.x) is computed here, from pure functions
(`parse_colour`, `contrast_ratio`) that accept any string and never raise.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler.consent import clicker
from crawler.consent.rules import CmpRule
from crawler.consent.texts import ACCEPT_RE

if TYPE_CHECKING:
    from playwright.async_api import Page

    from crawler.browser.targets import Target

TIMEOUT = 3.0  # seconds for the whole measurement (the clicker's queries and every frame's evaluation)
FRAME_TIMEOUT = 2.0
WORLD = "mouchard-layout"
MAX_FRAMES = 4  # frames evaluated: those holding the banner or its controls
MAX_TREE_FRAMES = 60
MAX_TEXT = 120
MAX_LABEL = 80
MAX_BOXES = 40
URL_MAX = 300
WHITE = (255.0, 255.0, 255.0, 1.0)

Colour = tuple[float, float, float, float]  # red, green, blue (0-255), alpha (0-1)

# CSS named colours (CSS Color Module Level 4), "name hex" pairs.
_NAMED_TEXT = (
    "aliceblue f0f8ff antiquewhite faebd7 aqua 00ffff aquamarine 7fffd4 azure f0ffff beige f5f5dc bisque ffe4c4 "
    "black 000000 blanchedalmond ffebcd blue 0000ff blueviolet 8a2be2 brown a52a2a burlywood deb887 "
    "cadetblue 5f9ea0 chartreuse 7fff00 chocolate d2691e coral ff7f50 cornflowerblue 6495ed cornsilk fff8dc "
    "crimson dc143c cyan 00ffff darkblue 00008b darkcyan 008b8b darkgoldenrod b8860b darkgray a9a9a9 "
    "darkgreen 006400 darkgrey a9a9a9 darkkhaki bdb76b darkmagenta 8b008b darkolivegreen 556b2f "
    "darkorange ff8c00 darkorchid 9932cc darkred 8b0000 darksalmon e9967a darkseagreen 8fbc8f "
    "darkslateblue 483d8b darkslategray 2f4f4f darkslategrey 2f4f4f darkturquoise 00ced1 darkviolet 9400d3 "
    "deeppink ff1493 deepskyblue 00bfff dimgray 696969 dimgrey 696969 dodgerblue 1e90ff firebrick b22222 "
    "floralwhite fffaf0 forestgreen 228b22 fuchsia ff00ff gainsboro dcdcdc ghostwhite f8f8ff gold ffd700 "
    "goldenrod daa520 gray 808080 green 008000 greenyellow adff2f grey 808080 honeydew f0fff0 hotpink ff69b4 "
    "indianred cd5c5c indigo 4b0082 ivory fffff0 khaki f0e68c lavender e6e6fa lavenderblush fff0f5 "
    "lawngreen 7cfc00 lemonchiffon fffacd lightblue add8e6 lightcoral f08080 lightcyan e0ffff "
    "lightgoldenrodyellow fafad2 lightgray d3d3d3 lightgreen 90ee90 lightgrey d3d3d3 lightpink ffb6c1 "
    "lightsalmon ffa07a lightseagreen 20b2aa lightskyblue 87cefa lightslategray 778899 lightslategrey 778899 "
    "lightsteelblue b0c4de lightyellow ffffe0 lime 00ff00 limegreen 32cd32 linen faf0e6 magenta ff00ff "
    "maroon 800000 mediumaquamarine 66cdaa mediumblue 0000cd mediumorchid ba55d3 mediumpurple 9370db "
    "mediumseagreen 3cb371 mediumslateblue 7b68ee mediumspringgreen 00fa9a mediumturquoise 48d1cc "
    "mediumvioletred c71585 midnightblue 191970 mintcream f5fffa mistyrose ffe4e1 moccasin ffe4b5 "
    "navajowhite ffdead navy 000080 oldlace fdf5e6 olive 808000 olivedrab 6b8e23 orange ffa500 orangered ff4500 "
    "orchid da70d6 palegoldenrod eee8aa palegreen 98fb98 paleturquoise afeeee palevioletred db7093 "
    "papayawhip ffefd5 peachpuff ffdab9 peru cd853f pink ffc0cb plum dda0dd powderblue b0e0e6 purple 800080 "
    "rebeccapurple 663399 red ff0000 rosybrown bc8f8f royalblue 4169e1 saddlebrown 8b4513 salmon fa8072 "
    "sandybrown f4a460 seagreen 2e8b57 seashell fff5ee sienna a0522d silver c0c0c0 skyblue 87ceeb "
    "slateblue 6a5acd slategray 708090 slategrey 708090 snow fffafa springgreen 00ff7f steelblue 4682b4 "
    "tan d2b48c teal 008080 thistle d8bfd8 tomato ff6347 turquoise 40e0d0 violet ee82ee wheat f5deb3 "
    "white ffffff whitesmoke f5f5f5 yellow ffff00 yellowgreen 9acd32"
)
NAMED: dict[str, str] = dict(zip(_NAMED_TEXT.split()[::2], _NAMED_TEXT.split()[1::2]))
_FUNCTION = re.compile(r"^(rgba?|hsla?|color)\(([^()]*)\)$")
_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)(%|deg|turn|rad)?$")


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _token(text: str) -> tuple[float, str] | None:
    """(number, unit) of one colour-function argument; `none` is 0 (CSS Color 4)."""
    if text == "none":
        return 0.0, ""
    match = _NUMBER.match(text)
    if match is None:
        return None
    value = float(match.group(1))
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value, match.group(2) or ""


def _alpha(token: tuple[float, str] | None) -> float | None:
    if token is None:
        return None
    value, unit = token
    return _clamp(value / 100 if unit == "%" else value, 0.0, 1.0)


def _hsl(hue: float, saturation: float, lightness: float) -> tuple[float, float, float]:
    hue, saturation, lightness = hue % 360, _clamp(saturation, 0, 100) / 100, _clamp(lightness, 0, 100) / 100

    def channel(n: int) -> float:
        k = (n + hue / 30) % 12
        a = saturation * min(lightness, 1 - lightness)
        return 255 * (lightness - a * max(-1.0, min(k - 3, 9 - k, 1.0)))

    return channel(0), channel(8), channel(4)


def parse_colour(text: object) -> Colour | None:
    """A CSS colour string as (r, g, b, a): rgb()/rgba() (comma or space syntax, percentages, `/ alpha`),
    hsl()/hsla(), color(srgb ...), #rgb/#rgba/#rrggbb/#rrggbbaa, named colours and `transparent`; None for
    anything else (currentcolor, other colour spaces, garbage). Never raises."""
    if not isinstance(text, str) or len(text) > 200:
        return None
    value = text.strip().lower()
    if value == "transparent":
        return (0.0, 0.0, 0.0, 0.0)
    if value in NAMED:
        value = "#" + NAMED[value]
    if value.startswith("#"):
        digits = value[1:]
        if len(digits) in (3, 4):
            digits = "".join(d * 2 for d in digits)
        if len(digits) not in (6, 8) or any(d not in "0123456789abcdef" for d in digits):
            return None
        channels = [int(digits[i:i + 2], 16) for i in range(0, len(digits), 2)]
        return (float(channels[0]), float(channels[1]), float(channels[2]),
                channels[3] / 255 if len(channels) == 4 else 1.0)
    match = _FUNCTION.match(value)
    if match is None:
        return None
    name, body = match.groups()
    if name == "color":
        words = body.replace("/", " / ").split()
        if not words or words[0] != "srgb":
            return None
        words, scale = words[1:], 255.0
    else:
        words = body.replace(",", " ").replace("/", " / ").split()
        scale = 1.0
    alpha_token: tuple[float, str] | None = (1.0, "")
    if "/" in words:
        at = words.index("/")
        if at != 3 or len(words) != 5:
            return None
        alpha_token, words = _token(words[4]), words[:3]
    elif len(words) == 4 and name != "color":
        alpha_token, words = _token(words[3]), words[:3]
    if len(words) != 3:
        return None
    tokens = [_token(w) for w in words]
    alpha = _alpha(alpha_token)
    if alpha is None or any(t is None for t in tokens):
        return None
    if name.startswith("hsl"):
        (hue, hue_unit), (sat, _), (light, _) = tokens  # type: ignore[misc]
        hue = hue * 360 if hue_unit == "turn" else hue * 57.29577951308232 if hue_unit == "rad" else hue
        red, green, blue = _hsl(hue, sat, light)
    else:
        red, green, blue = (value * 255 / 100 if unit == "%" else value * scale for value, unit in tokens)  # type: ignore[misc]
    return (_clamp(red, 0, 255), _clamp(green, 0, 255), _clamp(blue, 0, 255), alpha)


def over(top: Colour, bottom: Colour) -> Colour:
    """`top` painted over an opaque `bottom` (source-over compositing)."""
    alpha = top[3]
    return (top[0] * alpha + bottom[0] * (1 - alpha), top[1] * alpha + bottom[1] * (1 - alpha),
            top[2] * alpha + bottom[2] * (1 - alpha), 1.0)


def background_of(chain: Sequence[object]) -> Colour:
    """The opaque colour behind an element, from its own background colour up to its first opaque ancestor's
    (`chain`, element first); the canvas under them is taken as white (browsers' default). Unreadable entries
    are skipped."""
    colour = WHITE
    for text in reversed(list(chain)[:60]):
        layer = parse_colour(text)
        if layer is not None:
            colour = over(layer, colour)
    return colour


def luminance(colour: Colour) -> float:
    """WCAG 2.x relative luminance of an opaque colour."""
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(colour[0]) + 0.7152 * linear(colour[1]) + 0.0722 * linear(colour[2])


def contrast_ratio(foreground: object, background: object) -> float | None:
    """WCAG contrast ratio (1 to 21, two decimals) of a text colour over a background colour (CSS strings or
    parsed colours; a translucent background is taken over white, translucent text over its background); None
    when either is unreadable. Never raises."""
    back = parse_colour(background) if not isinstance(background, tuple) else background
    fore = parse_colour(foreground) if not isinstance(foreground, tuple) else foreground
    if back is None or fore is None:
        return None
    back = over(back, WHITE)
    fore = over(fore, back)
    light, dark = sorted((luminance(fore), luminance(back)), reverse=True)
    return round((light + 0.05) / (dark + 0.05), 2)


def colour_text(colour: Colour | None) -> str | None:
    """A colour as `rgb(r, g, b)` or `rgba(r, g, b, a)`, channels rounded (stable in findings)."""
    if colour is None:
        return None
    red, green, blue = (round(c) for c in colour[:3])
    if colour[3] >= 1:
        return f"rgb({red}, {green}, {blue})"
    return f"rgba({red}, {green}, {blue}, {round(colour[3], 3)})"


# One evaluation per frame, in our isolated world: every name below is the browser's own there.
SCRIPT = r"""(args) => {
  const MAX_NODES = 30000, gcs = getComputedStyle;
  const norm = (s) => String(s == null ? "" : s).replace(/\s+/g, " ").trim();
  const lower = (s) => norm(s).toLowerCase();
  const roots = [document];  // the document and every open shadow root under it (bounded walk)
  let walked = 0;
  for (let i = 0; i < roots.length && walked < MAX_NODES; i++) {
    const walker = document.createTreeWalker(roots[i], NodeFilter.SHOW_ELEMENT);
    let node;
    while ((node = walker.nextNode()) && walked++ < MAX_NODES) if (node.shadowRoot) roots.push(node.shadowRoot);
  }
  const all = (selector) => {  // null: not a CSS selector (a Playwright-only one)
    const found = [];
    for (const root of roots) {
      let list;
      try { list = root.querySelectorAll(selector); } catch (e) { return null; }
      for (const el of list) { found.push(el); if (found.length >= 500) return found; }
    }
    return found;
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && gcs(el).visibility !== "hidden";
  };
  const parentOf = (el) => el.parentElement || (el.parentNode && el.parentNode.host) || null;
  const within = (el, root) => { for (let n = el, d = 0; n && d < 300; n = parentOf(n), d++) if (n === root) return true; return false; };
  const find = (spec) => {
    if (!spec) return null;
    for (const selector of spec.selectors || []) {
      const list = all(selector);
      const el = list && list.find(visible);
      if (el) return el;
    }
    if (spec.text) {
      const want = lower(spec.text);
      const el = (all(args.clickable) || []).find((e) => lower(e.innerText || e.value) === want && visible(e));
      if (el) return el;
    }
    return null;
  };
  const px = (v) => { const n = parseFloat(v); return isFinite(n) ? Math.round(n * 100) / 100 : null; };
  const rect = (el) => { const r = el.getBoundingClientRect(); return {width: px(r.width), height: px(r.height)}; };
  const describe = (el) => {
    const s = gcs(el), backgrounds = [];
    for (let node = el, depth = 0; node && node.nodeType === 1 && depth < 40; node = parentOf(node), depth++) {
      const bg = gcs(node).backgroundColor;
      backgrounds.push(bg);
      if (/^rgb\(/.test(bg)) break;  // the first opaque one
    }
    return Object.assign(rect(el), {
      text: norm(el.innerText || el.value).slice(0, args.maxText), tag: el.tagName.toLowerCase(),
      role: norm(el.getAttribute("role")).slice(0, 40) || null, font_size: px(s.fontSize),
      font_weight: parseInt(s.fontWeight, 10) || null, color: s.color, backgrounds,
      background_image: s.backgroundImage !== "none",
      borders: ["Top", "Right", "Bottom", "Left"].map((side) => [px(s["border" + side + "Width"]),
        s["border" + side + "Style"], s["border" + side + "Color"]]),
      padding: [s.paddingTop, s.paddingRight, s.paddingBottom, s.paddingLeft].map(px),
      underline: String(s.textDecorationLine).includes("underline"),
    });
  };
  const accept = find(args.accept), reject = find(args.reject);
  let banners = [], derived = false;
  for (const selector of args.banner || []) {
    for (const el of all(selector) || []) {
      if (banners.length < 3 && visible(el) && !banners.some((b) => within(el, b) || within(b, el))) banners.push(el);
    }
  }
  const anchor = accept || reject;
  if (!banners.length && anchor) {  // no rule: the fixed/sticky layer holding the controls, else their common box
    derived = true;
    let root = null;
    for (let n = anchor, d = 0; n && n.nodeType === 1 && d < 60; n = parentOf(n), d++) {
      const pos = gcs(n).position;
      if (pos === "fixed" || pos === "sticky") { root = n; break; }
    }
    if (!root && accept && reject) {
      const up = new Set();
      for (let n = accept, d = 0; n && d < 300; n = parentOf(n), d++) up.add(n);
      for (let n = reject, d = 0; n && d < 300; n = parentOf(n), d++) if (up.has(n)) { root = n; break; }
    }
    if (!root && window !== window.top) root = document.body;
    banners = [root || parentOf(anchor) || anchor];
  }
  const boxes = [];
  let over = 0;
  const seen = new Set();
  if (banners.length) {
    for (const el of all("input[type=checkbox], [role=switch], [role=checkbox], [aria-checked]") || []) {
      if (seen.has(el) || !banners.some((b) => within(el, b))) continue;
      seen.add(el);
      const label = (el.labels && el.labels[0]) || el.closest("label");
      const shown = (el.getClientRects().length > 0 && gcs(el).visibility !== "hidden") || (label && visible(label));
      if (!shown) continue;
      if (boxes.length >= args.maxBoxes) { over++; continue; }
      const item = el.closest("li, tr, [role=listitem]") || parentOf(el);
      boxes.push({
        label: norm(el.getAttribute("aria-label") || (label && label.innerText) || el.getAttribute("title")
                    || (item && item.innerText) || el.name || el.id).slice(0, args.maxLabel),
        kind: el.tagName === "INPUT" ? "checkbox" : (el.getAttribute("role") || "aria-checked").slice(0, 20),
        checked: el.tagName === "INPUT" ? !!el.checked : el.getAttribute("aria-checked") === "true",
        disabled: !!el.disabled || el.getAttribute("aria-disabled") === "true",
      });
    }
  }
  return {
    frame_url: location.href.slice(0, args.urlMax), top: window === window.top,
    banner: banners.length ? Object.assign(rect(banners[0]), {layers: banners.length, derived}) : null,
    accept: accept && describe(accept), reject: reject && describe(reject), boxes, boxes_over: over,
  };
}"""


@dataclass
class Banner:
    """What the consent collector found of the banner, to measure it: the CMP rule whose banner showed (or
    None), the first-layer reject control the clicker found (None when there is none), autoconsent's popup
    frame URL, and how the banner was detected."""

    rule: CmpRule | None = None
    reject: clicker.Control | None = None
    popup_url: str | None = None
    detected_by: str | None = None


def _number(value: object, digits: int = 2) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    if value in (float("inf"), float("-inf")):
        return None
    return round(float(value), digits)


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _text(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return _number(numerator / denominator)


def _area(width: float | None, height: float | None) -> float | None:
    return _number(width * height) if width is not None and height is not None else None


def looks_like(raw: dict) -> str:
    """"button" when the control has visible chrome — its own background different from what is behind it, a
    background image, or a border on at least three sides — else "link" (text alone, whatever its tag)."""
    backgrounds = [b for b in _list(raw.get("backgrounds")) if isinstance(b, str)]
    own = parse_colour(backgrounds[0]) if backgrounds else None
    behind = background_of(backgrounds[1:])
    if own is not None and own[3] > 0.05:
        painted = over(own, behind)
        if sum(abs(a - b) for a, b in zip(painted[:3], behind[:3])) > 12:
            return "button"
    if raw.get("background_image") is True:
        return "button"
    sides = 0
    for side in _list(raw.get("borders")):
        if isinstance(side, list) and len(side) == 3:
            width, style, colour = side
            parsed = parse_colour(colour)
            if (_number(width) or 0) >= 1 and style not in ("none", "hidden") and parsed and parsed[3] > 0.05:
                sides += 1
    return "button" if sides >= 3 else "link"


def control_facts(raw: object) -> dict | None:
    """A control's layout facts from the frame's raw answer (bounded, typed: the text is the page's)."""
    if not isinstance(raw, dict):
        return None
    width, height = _number(raw.get("width")), _number(raw.get("height"))
    backgrounds = [b for b in _list(raw.get("backgrounds")) if isinstance(b, str)][:40]
    background = background_of(backgrounds)
    colour = parse_colour(raw.get("color"))
    padding = _list(raw.get("padding"))
    weight = raw.get("font_weight")
    return {
        "text": _text(raw.get("text"), MAX_TEXT), "tag": _text(raw.get("tag"), 30), "role": _text(raw.get("role"), 40),
        "width": width, "height": height,
        "area": _area(width, height),
        "font_size": _number(raw.get("font_size")),
        "font_weight": weight if isinstance(weight, int) and not isinstance(weight, bool) else None,
        "color": colour_text(colour), "background": colour_text(background),
        "contrast": contrast_ratio(colour, background) if colour is not None else None,
        "looks_like": looks_like(raw), "underline": raw.get("underline") is True,
        "padding": [_number(p) for p in padding[:4]],
    }


def _box(raw: object) -> dict | None:
    if not isinstance(raw, dict):
        return None
    return {"label": _text(raw.get("label"), MAX_LABEL) or "", "kind": _text(raw.get("kind"), 20) or "checkbox",
            "checked": raw.get("checked") is True, "disabled": raw.get("disabled") is True}


def summarise(frames: Sequence[object]) -> dict:
    """The layout facts from the frames' raw answers (main frame first): the first frame's accept and reject
    controls and banner, the ticked boxes of every frame. Pure: tested without a browser."""
    answers = [f for f in frames if isinstance(f, dict)]
    pick = lambda key: next((a[key] for a in answers if isinstance(a.get(key), dict)), None)  # noqa: E731
    accept, reject = control_facts(pick("accept")), control_facts(pick("reject"))
    banner_raw = pick("banner")
    banner = None
    if banner_raw is not None:
        width, height = _number(banner_raw.get("width")), _number(banner_raw.get("height"))
        banner = {"width": width, "height": height,
                  "area": _area(width, height),
                  "layers": banner_raw.get("layers") if isinstance(banner_raw.get("layers"), int) else 1,
                  "derived": banner_raw.get("derived") is True}
    frame = next((a for a in answers if a.get("accept") or a.get("reject") or a.get("banner")), None)
    boxes = [b for a in answers for b in (a.get("boxes") if isinstance(a.get("boxes"), list) else [])]
    boxes = [b for b in (_box(b) for b in boxes[:MAX_BOXES]) if b is not None]
    over_cap = sum(a["boxes_over"] for a in answers if isinstance(a.get("boxes_over"), int))
    ticked = [b for b in boxes if b["checked"] and not b["disabled"]]
    locked = [b for b in boxes if b["checked"] and b["disabled"]]
    both = accept is not None and reject is not None
    return {
        "frame_url": _text(frame.get("frame_url"), URL_MAX) if frame else None,
        "banner": banner, "accept": accept, "reject": reject,
        "ratios": {
            "area": _ratio(reject["area"], accept["area"]) if both else None,
            "font_size": _ratio(reject["font_size"], accept["font_size"]) if both else None,
            "contrast": _ratio(reject["contrast"], accept["contrast"]) if both else None,
        },
        "boxes": len(boxes) + over_cap,
        "pre_ticked": len(ticked), "pre_ticked_labels": sorted({b["label"] for b in ticked}),
        "necessary_locked": len(locked), "necessary_locked_labels": sorted({b["label"] for b in locked}),
    }


async def measure(page: "Page", banner: Banner, targets: Sequence["Target"], timeout: float = TIMEOUT) -> dict:
    """The banner's layout facts (`summarise`), or {"error": one line} when they could not be read in time."""
    try:
        return await asyncio.wait_for(_measure(page, banner, targets), timeout)
    except asyncio.TimeoutError:
        return {"error": f"layout not measured within {timeout:g} s"}
    except Exception as exc:  # a frame gone, a target detached: the visit goes on without the layout
        return {"error": (str(exc).splitlines() or [type(exc).__name__])[0][:200]}


def _spec(control: clicker.Control | None) -> dict | None:
    """How the isolated script re-finds a control the clicker found: its rule selector, else its whole text."""
    if control is None:
        return None
    selectors = [] if control.selector.startswith("text:") else [control.selector]
    return {"selectors": selectors, "text": control.text}


def _bare(url: str | None) -> str:
    return (url or "").split("#", 1)[0]


async def _frames(targets: Sequence["Target"]) -> list[tuple["Target", str, str]]:
    """(target, frame id, URL) of the visit's frames, main frame first; an out-of-process frame under its own
    target (its target id is its frame id)."""
    found: dict[str, tuple["Target", str]] = {}
    for target in targets:
        if getattr(target, "detached", False) or target.type not in ("page", "iframe"):
            continue
        try:
            tree = await target.send("Page.getFrameTree", timeout=FRAME_TIMEOUT)
        except Exception:
            continue
        queue = [tree.get("frameTree") or {}]
        while queue and len(found) < MAX_TREE_FRAMES:
            node = queue.pop(0)
            frame = node.get("frame") or {}
            frame_id = frame.get("id")
            if isinstance(frame_id, str) and (frame_id not in found or frame_id == target.target_id):
                found[frame_id] = (target, str(frame.get("url") or ""))
            queue.extend(c for c in _list(node.get("childFrames")) if isinstance(c, dict))
    return [(target, frame_id, url) for frame_id, (target, url) in found.items()]


async def _measure(page: "Page", banner: Banner, targets: Sequence["Target"]) -> dict:
    rule, reject = banner.rule, banner.reject
    accept = await clicker.visible_control(page, rule.accept, rule.frame) if rule is not None else None
    if accept is None:
        accept = await clicker.text_control(page, ACCEPT_RE)
    wanted = {_bare(c.frame_url) for c in (accept, reject) if c is not None}
    if banner.popup_url:
        wanted.add(_bare(banner.popup_url))
    frames = await _frames(targets)
    chosen = [f for f in frames if _bare(f[2]) in wanted or (rule is not None and rule.frame and rule.frame in f[2])]
    if not chosen and frames:
        chosen = frames[:1]
    args = {"accept": _spec(accept), "reject": _spec(reject), "banner": list(rule.banner) if rule else [],
            "clickable": clicker.CLICKABLE, "maxText": MAX_TEXT, "maxLabel": MAX_LABEL, "maxBoxes": MAX_BOXES,
            "urlMax": URL_MAX}
    expression = f"({SCRIPT})({json.dumps(args)})"
    answers, errors = [], []
    for target, frame_id, _url in chosen[:MAX_FRAMES]:
        try:
            world = await target.send("Page.createIsolatedWorld", {"frameId": frame_id, "worldName": WORLD},
                                      timeout=FRAME_TIMEOUT)
            result = await target.send("Runtime.evaluate", {
                "expression": expression, "contextId": world["executionContextId"], "returnByValue": True,
                "silent": True}, timeout=FRAME_TIMEOUT)
        except Exception as exc:
            errors.append((str(exc).splitlines() or ["?"])[0][:200])
            continue
        if result.get("exceptionDetails"):
            errors.append(str((result["exceptionDetails"].get("exception") or {}).get("description")
                              or result["exceptionDetails"].get("text"))[:200])
            continue
        answers.append((result.get("result") or {}).get("value"))
    if not answers:
        return {"error": errors[0] if errors else "no frame to measure"}
    layout = summarise(answers)
    layout["detected_by"] = banner.detected_by
    if errors:
        layout["frame_errors"] = errors[:3]
    if reject is not None and layout["reject"] is None:
        layout["notes"] = ["the reject control the clicker found was not found again"]
    return layout

"""The page-side recorder of RecordFingerprinting, and the DevTools console code that arms its breakpoints.

The recorder is JavaScript run at the start of every document (crawler/collectors/fingerprinting.py says how and
why that is invisible). Called from a breakpoint condition as `NAME(api index, receiver, arguments)`, it counts
the call per (API, caller), keeps up to `MAX_VALUES` distinct argument lists with the time each was first seen
(strings cut to the API's `cut` or `VALUE_CUT` characters, objects as their type, a canvas's width and height for
read-backs) and returns false, so the page does not stop. The caller is named from a stack trace taken with the captured `Error.captureStackTrace` into a
prototype-less object: the frames under the recorder's and the condition's (`STACK_FRAMES` of them) are the key.
When `Error.prepareStackTrace` is defined or `Error.stackTraceLimit` is too small (a stack would run page code or
be empty), it returns true instead, for the first `MAX_PAUSES` calls per API, and remembers which API asked.

Commands (negative first argument, used by the collector only):
`-1` the entries changed since the last reading `{u: document URL, e: {key: entry}}`; `-2` the catalogue's
functions, as found at document start; `-3` the API of the last pause it asked for; `-4` the spare built-in used to
re-arm breakpoints (`HTMLMarqueeElement.prototype.start`). An entry is `{i: API index, s: caller frames, n: calls,
t: first call (epoch ms), v: {id: argument list}, f: {id: first seen (epoch ms)}, c: distinct lists}`.
"""

from __future__ import annotations

import json

from mouchard.fingerprinting import APIS

VALUE_CUT = 200  # characters of a string argument the recorder keeps
MAX_VALUES = 100  # distinct argument lists kept per (API, caller)
MAX_ENTRIES = 2000  # (API, caller) pairs per document; beyond, calls are counted per API without caller
MAX_PAUSES = 50  # real pauses per API and document when no stack trace can be taken
STACK_FRAMES = 3  # caller frames kept to name the script

_RECORDER = r"""let __NAME__ = (() => {
  "use strict";
  const G = self, R = Reflect, apply = R.apply, gopd = R.getOwnPropertyDescriptor, E = Error;
  const capture = E.captureStackTrace, now = Date.now, indexOf = String.prototype.indexOf;
  const slice = String.prototype.slice, href = "" + G.location.href;
  const APIS = __APIS__;
  function getter(name, member) {
    const iface = G[name], d = iface && gopd(iface.prototype, member);
    return d && d.get || null;
  }
  const sizes = [null, [getter("HTMLCanvasElement", "width"), getter("HTMLCanvasElement", "height")],
                 [getter("OffscreenCanvas", "width"), getter("OffscreenCanvas", "height")]];
  function find(api) {
    const names = api[0], member = api[1], kind = api[2];
    for (const name of names) {
      let owner = G;
      for (const part of name.split(".")) owner = owner == null ? undefined : owner[part];
      if (typeof owner !== "function") continue;
      if (kind === "constructor") return owner;
      const holders = kind === "static" ? [owner] : name === "Window" ? [G, owner.prototype] : [owner.prototype];
      for (const holder of holders) {
        const d = holder && gopd(holder, member);
        const fn = d && (kind === "get" ? d.get : kind === "set" ? d.set : d.value);
        if (typeof fn === "function") return fn;
      }
    }
    return null;
  }
  const functions = APIS.map(find);
  const spare = find([["HTMLMarqueeElement"], "start", "method"]);  // never armed: see REARM
  let entries = {__proto__: null}, dirty = {__proto__: null}, count = 0, last = -1;
  const pauses = {__proto__: null};
  function value(v, cut) {
    const t = typeof v;
    if (t === "string") return v.length > cut ? apply(slice, v, [0, cut]) : v;
    if (t === "number" || t === "boolean") return v;
    if (v === null || v === undefined) return null;
    if (t === "bigint") return "" + v;
    return "[" + t + "]";
  }
  function size(get, receiver) {
    if (get === null) return null;
    try { return apply(get, receiver, []); } catch (e) { return null; }
  }
  function stackable() {
    if ("prepareStackTrace" in E) return false;
    const d = gopd(E, "stackTraceLimit");
    return d !== undefined && typeof d.value === "number" && d.value >= __FRAMES__ + 3;
  }
  return function (i, receiver, args) {
    if (i === -1) { const out = {__proto__: null, u: href, e: dirty}; dirty = {__proto__: null}; return out; }
    if (i === -2) return functions;
    if (i === -3) return last;
    if (i === -4) return spare;
    let caller = "", pause = false;
    if (stackable()) {
      const holder = {__proto__: null};
      apply(capture, E, [holder]);
      const s = holder.stack;
      if (typeof s === "string") {
        let p = 0;  // skip the header line, this function's frame and the breakpoint condition's frame
        for (let k = 0; k < 3 && p >= 0; k++) { p = apply(indexOf, s, ["\n", p]); if (p >= 0) p++; }
        if (p > 0) {
          let q = p;
          for (let k = 0; k < __FRAMES__ && q >= 0; k++) { q = apply(indexOf, s, ["\n", q]); if (q >= 0) q++; }
          caller = apply(slice, s, [p, q < 0 ? s.length : q - 1]);
        }
      }
    } else {
      const done = pauses[i] || 0;
      if (done < __PAUSES__) { pauses[i] = done + 1; pause = true; last = i; }
    }
    let key = i + "|" + caller, e = entries[key];
    if (e === undefined && count >= __ENTRIES__) { key = i + "|~"; caller = "~"; e = entries[key]; }
    if (e === undefined) {
      e = {__proto__: null, i: i, s: caller, n: 0, t: now(), v: {__proto__: null}, f: {__proto__: null}, c: 0};
      entries[key] = e;
      count++;
    }
    e.n++;
    const spec = APIS[i], keep = spec[3], kind = spec[4], cut = spec[5] || __CUT__;
    if ((keep.length > 0 || kind > 0) && e.c < __VALUES__) {
      const tuple = {__proto__: null};
      let n = 0, id = "";
      for (let j = 0; j < keep.length; j++) {
        const a = keep[j] < args.length ? value(args[keep[j]], cut) : null;
        tuple[n++] = a;
        id += "\u0001" + a;
      }
      if (kind > 0) {
        const w = size(sizes[kind][0], receiver), h = size(sizes[kind][1], receiver);
        tuple[n++] = w; tuple[n++] = h;
        id += "\u0001" + w + "\u0001" + h;
      }
      if (e.v[id] === undefined) { e.v[id] = tuple; e.f[id] = now(); e.c++; }
    }
    dirty[key] = e;
    return pause;
  };
})();
"""


def recorder_source(name: str) -> str:
    """The recorder's JavaScript, bound to `name` (see the module docstring)."""
    specs = [[list(api.interfaces), api.member, api.kind, list(api.keep),
              {"canvas": 1, "offscreen": 2}.get(api.receiver or "", 0), api.cut or 0] for api in APIS]
    return (_RECORDER.replace("__NAME__", name).replace("__APIS__", json.dumps(specs, separators=(",", ":")))
            .replace("__CUT__", str(VALUE_CUT)).replace("__FRAMES__", str(STACK_FRAMES))
            .replace("__PAUSES__", str(MAX_PAUSES)).replace("__ENTRIES__", str(MAX_ENTRIES))
            .replace("__VALUES__", str(MAX_VALUES)))


def condition(name: str, index: int) -> str:
    """The breakpoint condition of API `index`: record the call, pause only if the recorder asks."""
    return f'typeof {name} === "function" && {name}({index}, this, arguments)'


def arm_expression(name: str, first: int) -> str:
    """Console-API code that sets the breakpoints of APIs `first`.. with `debug(fn, condition)`."""
    cond = condition(name, 0).replace("(0, this", "(' + i + ', this").replace('"', '\\"')
    return (f"((debug) => {{ const f = {name}(-2); let n = 0; for (let i = {first}; i < f.length; i++) "
            f"if (f[i]) {{ debug(f[i], '{cond}'); n++; }} return n; }})(debug)")


def rearm_expression(name: str) -> str:
    """Console-API code that re-arms a process's breakpoints for a newer document's functions.

    Setting a breakpoint on a built-in (API) function makes V8 route every existing function object that has a
    breakpoint through its debug trampoline; removing it at once leaves no trace. The spare function is one
    pages do not call (`HTMLMarqueeElement.prototype.start`, taken by the recorder before the page ran).
    """
    return (f"((debug, undebug) => {{ const f = {name}(-4); if (f) {{ debug(f); undebug(f); }} return f ? 1 : 0; }})"
            "(debug, undebug)")

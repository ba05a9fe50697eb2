"""The page-side recorder of crawler/collectors/calls.py, and the DevTools console code that arms its breakpoints.

The recorder is JavaScript run at the start of every document (crawler/collectors/calls.py says how and
why that is invisible). Called from a breakpoint condition as `NAME(api index, receiver, arguments)`, it counts
the call per (API, call site), keeps up to `MAX_VALUES` distinct argument lists with the time each was first seen
and returns false, so the page does not stop. Bounds, per argument: strings cut to the API's `cut` or `VALUE_CUT`
characters; a list argument as its first `MAX_ITEMS` elements, a dictionary as the API's `fields` (own data
properties only: a getter is never run), two levels deep; anything else as its type. Per call: the API's `keep`
arguments only, plus what its `receiver` adds (a canvas's width and height, a 2D context's font, an event target's
node name). `Api.returns` summaries (SHA-256 of a data URL or of ImageData bytes up to `HASH_MAX` each and
`HASH_BUDGET` per document, cookie names of a `document.cookie` string) come from calling the pristine function again with the same arguments, only when all
are primitives (an object's conversion would run page code); V8 does not break inside a breakpoint condition, so
that call is not recorded again. At most `MAX_RETURNS` attempts per entry (call site).
The call site is named from a stack trace taken with the captured `Error.captureStackTrace` into a
prototype-less object: the frames under the recorder's and the condition's (`STACK_FRAMES` of them) are the key.
When `Error.prepareStackTrace` is defined or `Error.stackTraceLimit` is too small (a stack would run page code or
be empty), it returns true instead, for the first `MAX_PAUSES` calls per API, and remembers which API asked.
In a window, the recorder adds one `pagehide` listener (with the pristine `addEventListener`, before any page
script): when the document goes away with entries not read yet, it stops on a `debugger` statement so the
collector reads them first (calls.py, step 5). Pages cannot list listeners; it changes no bfcache
eligibility (`unload` listeners would).
Limit: a Proxy passed as a list or dictionary argument sees its `getOwnPropertyDescriptor` trap called (JavaScript
cannot tell a Proxy without touching it); Blink's own conversion of that argument reads it too.

Commands (negative first argument, used by the collector only):
`-1` the entries changed since the last reading `{u: document URL, e: {key: entry}}`; `-2` the catalogue's
functions, as found at document start; `-3` the API of the last pause it asked for; `-4` the spare built-in used to
re-arm breakpoints (`HTMLMarqueeElement.prototype.start`). An entry is `{i: API index, s: caller frames, n: calls,
t: first call (epoch ms), v: {id: argument list}, f: {id: first seen (epoch ms)}, c: distinct lists,
r: {summary: 1}, rc: distinct summaries}`; a kept list is `{a: {0: ...}}`, a dictionary `{o: {field: ...}}`.
"""

from __future__ import annotations

import json

from mouchard.detect.fingerprinting import APIS

VALUE_CUT = 200  # characters of a string argument the recorder keeps
MAX_VALUES = 100  # distinct argument lists kept per (API, caller)
MAX_ENTRIES = 2000  # (API, caller) pairs per document; beyond, calls are counted per API without caller
MAX_PAUSES = 50  # real pauses per API and document when no stack trace can be taken
STACK_FRAMES = 5  # caller frames kept per call site (the key of an entry: one entry per distinct call site)
MAX_ITEMS = 10  # elements of a list argument, and fields of a dictionary argument, kept (recursion: 2 levels)
MAX_RETURNS = 20  # return summaries attempted (so at most this many kept) per (API, call site)
HASH_MAX = 4 * 1024 * 1024  # characters or bytes of one result hashed at most (larger: noted, not hashed)
HASH_BUDGET = 32 * 1024 * 1024  # characters or bytes hashed per document (then noted, not hashed)
RECEIVERS = {"canvas": 1, "offscreen": 2, "font": 3, "target": 4}
RETURNS = {"hash": 1, "pixels": 2, "cookie-names": 3}
_SHA256_K = (
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2)

_RECORDER = r"""let __NAME__ = (() => {
  "use strict";
  const G = self, R = Reflect, apply = R.apply, gopd = R.getOwnPropertyDescriptor, E = Error;
  const capture = E.captureStackTrace, indexOf = String.prototype.indexOf;
  // Times from the performance clock (epoch ms: timeOrigin + now()), not Date: a replay shifts Date to the capture
  // time (mouchard.archive.clock) and the recorder's times must stay the visit's.
  const P = G.performance, pnow = P && P.now, origin = P ? +P.timeOrigin : 0;
  const now = pnow && origin ? () => origin + apply(pnow, P, []) : Date.now;
  const slice = String.prototype.slice, charCodeAt = String.prototype.charCodeAt, href = "" + G.location.href;
  const isArray = Array.isArray, U8 = Uint8Array, I32 = Int32Array, hasOwn = Object.prototype.hasOwnProperty;
  const APIS = __APIS__;
  function getter(name, member) {
    const iface = G[name], d = iface && gopd(iface.prototype, member);
    return d && d.get || null;
  }
  const sizes = [null, [getter("HTMLCanvasElement", "width"), getter("HTMLCanvasElement", "height")],
                 [getter("OffscreenCanvas", "width"), getter("OffscreenCanvas", "height")]];
  const fonts = [getter("CanvasRenderingContext2D", "font"), getter("OffscreenCanvasRenderingContext2D", "font")];
  const nodeName = getter("Node", "nodeName"), pixelData = getter("ImageData", "data");
  const typedLength = gopd(R.getPrototypeOf(U8.prototype), "length").get;
  const only = APIS.map((api) => {
    if (api[8].length === 0) return null;
    const set = {__proto__: null};
    for (const type of api[8]) set[type] = 1;
    return set;
  });
  function find(api) {
    const names = api[0], member = api[1], kind = api[2];
    for (const name of names) {
      let owner = G;
      for (const part of name.split(".")) owner = owner == null ? undefined : owner[part];
      const isStatic = kind === "static" || kind === "static-get";
      // an interface object, or a namespace object (console) for a static member
      if (typeof owner !== "function" && !(isStatic && typeof owner === "object" && owner !== null)) continue;
      if (kind === "constructor") return owner;
      const holders = isStatic ? [owner]
        : name === "Window" ? [G, owner.prototype] : [owner.prototype];
      for (const holder of holders) {
        const d = holder && gopd(holder, member);
        const fn = d && (kind === "get" || kind === "static-get" ? d.get : kind === "set" ? d.set : d.value);
        if (typeof fn === "function") return fn;
      }
    }
    return null;
  }
  const functions = APIS.map(find);
  const spare = find([["HTMLMarqueeElement"], "start", "method"]);  // never armed: see REARM
  let entries = {__proto__: null}, dirty = {__proto__: null}, count = 0, last = -1, hashed = 0;
  // A document that goes away (an iframe removed, a frame navigating) with entries not read yet stops here,
  // while it still exists, so the collector reads them (step 5 of calls.py's docstring).
  if ("onpagehide" in G) {
    apply(gopd(G.EventTarget.prototype, "addEventListener").value, G, ["pagehide", function () {
      for (const k in dirty) { debugger; break; }
    }]);
  }
  const pauses = {__proto__: null};
  function value(v, cut, fields, depth) {
    const t = typeof v;
    if (t === "string") return v.length > cut ? apply(slice, v, [0, cut]) : v;
    if (t === "number" || t === "boolean") return v;
    if (v === null || v === undefined) return null;
    if (t === "bigint") return "" + v;
    if (t !== "object" || depth > 1) return "[" + t + "]";
    // A dictionary or list argument: own data properties only, never a getter (that would run page code).
    let out = null;
    try {
      if (isArray(v)) {
        out = {__proto__: null};
        for (let k = 0; k < __ITEMS__; k++) {
          const d = gopd(v, "" + k);
          if (d === undefined) break;
          out[k] = apply(hasOwn, d, ["value"]) ? value(d.value, cut, fields, depth + 1) : "[getter]";
        }
        out = {__proto__: null, a: out};
      } else if (fields.length > 0) {
        out = {__proto__: null};
        for (let k = 0; k < fields.length && k < __ITEMS__; k++) {
          const f = fields[k], d = gopd(v, f);
          if (d !== undefined) out[f] = apply(hasOwn, d, ["value"]) ? value(d.value, cut, fields, depth + 1) : "[getter]";
        }
        out = {__proto__: null, o: out};
      }
    } catch (e) { out = null; }
    return out === null ? "[object]" : out;
  }
  function valueKey(a) {  // a kept value as a string, to tell distinct argument lists apart
    if (typeof a !== "object" || a === null) return "" + a;
    let out = "{";
    for (const k in a) out += k + ":" + valueKey(a[k]) + ",";
    return out + "}";
  }
  function receiverInfo(kind, receiver) {
    if (kind === 1 || kind === 2) return [size(sizes[kind][0], receiver), size(sizes[kind][1], receiver)];
    if (kind === 3) { const f = size(fonts[0], receiver); return [f === null ? size(fonts[1], receiver) : f]; }
    if (receiver === G) return ["window"];
    const n = size(nodeName, receiver);
    return [typeof n === "string" ? n : "[object]"];
  }
  const K = new I32([__K__]);
  const HEX = "0123456789abcdef";
  // SHA-256 of n bytes read by byte(i): a pure function of pristine built-ins (no page code), bounded by n.
  function sha256(byte, n) {
    const H = new I32([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
                       0x5be0cd19]);
    const W = new I32(64), blocks = ((n + 8) >>> 6) + 1, bits = n * 8;
    for (let b = 0; b < blocks; b++) {
      for (let j = 0; j < 16; j++) {
        let w = 0;
        for (let k = 0; k < 4; k++) {
          const p = b * 64 + j * 4 + k;
          let x = p < n ? byte(p) : p === n ? 0x80 : 0;
          if (b === blocks - 1 && j === 14) x = (((bits / 4294967296) >>> 0) >>> (24 - 8 * k)) & 0xff;
          if (b === blocks - 1 && j === 15) x = (bits >>> (24 - 8 * k)) & 0xff;
          w = (w << 8) | x;
        }
        W[j] = w;
      }
      for (let j = 16; j < 64; j++) {
        const a = W[j - 15], c = W[j - 2];
        const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
        const s1 = ((c >>> 17) | (c << 15)) ^ ((c >>> 19) | (c << 13)) ^ (c >>> 10);
        W[j] = (W[j - 16] + s0 + W[j - 7] + s1) | 0;
      }
      let a = H[0], bb = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
      for (let j = 0; j < 64; j++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[j] + W[j]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
      }
      H[0] += a; H[1] += bb; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
    }
    let out = "sha256:";
    for (let j = 0; j < 8; j++) for (let k = 28; k >= 0; k -= 4) out += HEX[(H[j] >>> k) & 15];
    return out;
  }
  // What a call returned (Api.returns), from the pristine function called again with the same primitive
  // arguments; null when an argument is an object (its conversion would run page code) or the call throws.
  function returned(i, how, receiver, args) {
    const list = {__proto__: null, length: args.length};
    for (let j = 0; j < args.length; j++) {
      const t = typeof args[j];
      if ((t === "object" && args[j] !== null) || t === "function" || t === "symbol") return null;
      list[j] = args[j];
    }
    let r;
    try { r = apply(functions[i], receiver, list); } catch (e) { return null; }
    if (how === 1) {
      if (typeof r !== "string") return null;
      if (r.length > __HASH_MAX__) return "too large: " + r.length + " characters";
      if (hashed + r.length > __HASH_BUDGET__) return "not hashed: budget spent";
      hashed += r.length;
      return sha256((p) => apply(charCodeAt, r, [p]) & 0xff, r.length);
    }
    if (how === 2) {
      const data = size(pixelData, r), n = data === null ? null : size(typedLength, data);
      if (typeof n !== "number") return null;
      if (n > __HASH_MAX__) return "too large: " + n + " bytes";
      if (hashed + n > __HASH_BUDGET__) return "not hashed: budget spent";
      hashed += n;
      return sha256((p) => data[p], n);
    }
    if (typeof r !== "string") return null;  // cookie names: "a;b" from "a=1; b=2", values never kept
    let names = "", p = 0;
    for (let k = 0; k < __ITEMS__ * 10 && p < r.length; k++) {
      let q = apply(indexOf, r, [";", p]);
      if (q < 0) q = r.length;
      while (p < q && r[p] === " ") p++;
      const part = apply(slice, r, [p, q]);
      const eq = apply(indexOf, part, ["="]);
      names += (k > 0 ? ";" : "") + apply(slice, eq < 0 ? "" : part, [0, eq < 0 ? 0 : (eq > __CUT__ ? __CUT__ : eq)]);
      p = q + 1;
    }
    return names;
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
    const spec = APIS[i];
    if (only[i] !== null && !(typeof args[0] === "string" && args[0] in only[i])) return false;
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
      e = {__proto__: null, i: i, s: caller, n: 0, t: now(), v: {__proto__: null}, f: {__proto__: null}, c: 0,
           r: {__proto__: null}, rc: 0, h: 0};
      entries[key] = e;
      count++;
    }
    e.n++;
    const keep = spec[3], kind = spec[4], cut = spec[5] || __CUT__, fields = spec[6], how = spec[7];
    if ((keep.length > 0 || kind > 0) && e.c < __VALUES__) {
      const tuple = {__proto__: null};
      let n = 0, id = "";
      for (let j = 0; j < keep.length; j++) {
        const a = keep[j] < args.length ? value(args[keep[j]], cut, fields, 0) : null;
        tuple[n++] = a;
        id += "\u0001" + valueKey(a);
      }
      if (kind > 0) {
        const info = receiverInfo(kind, receiver);
        for (let j = 0; j < info.length; j++) { tuple[n++] = info[j]; id += "\u0001" + info[j]; }
      }
      if (e.v[id] === undefined) { e.v[id] = tuple; e.f[id] = now(); e.c++; }
    }
    if (how > 0 && e.h < __RETURNS__) {  // attempts, not distinct results: an animation loop stops here
      e.h++;
      const r = returned(i, how, receiver, args);
      if (r !== null && e.r[r] === undefined) { e.r[r] = 1; e.rc++; }
    }
    dirty[key] = e;
    return pause;
  };
})();
"""


def recorder_source(name: str, apis: frozenset[int] | None = None) -> str:
    """The recorder's JavaScript, bound to `name` (see the module docstring); with `apis`, only those catalogue
    indices are looked up (the others have no interface, so no function: never armed, never recorded)."""
    specs = [[list(api.interfaces) if apis is None or index in apis else [], api.member, api.kind, list(api.keep),
              RECEIVERS.get(api.receiver or "", 0),
              api.cut or 0, list(api.fields), RETURNS.get(api.returns or "", 0), list(api.only)]
             for index, api in enumerate(APIS)]
    return (_RECORDER.replace("__NAME__", name).replace("__APIS__", json.dumps(specs, separators=(",", ":")))
            .replace("__CUT__", str(VALUE_CUT)).replace("__FRAMES__", str(STACK_FRAMES))
            .replace("__PAUSES__", str(MAX_PAUSES)).replace("__ENTRIES__", str(MAX_ENTRIES))
            .replace("__VALUES__", str(MAX_VALUES)).replace("__ITEMS__", str(MAX_ITEMS))
            .replace("__RETURNS__", str(MAX_RETURNS)).replace("__HASH_MAX__", str(HASH_MAX))
            .replace("__HASH_BUDGET__", str(HASH_BUDGET))
            .replace("__K__", ",".join(str(k) for k in _SHA256_K)))


def condition(name: str, index: int) -> str:
    """The breakpoint condition of API `index`: record the call, pause only if the recorder asks."""
    return f'typeof {name} === "function" && {name}({index}, this, arguments)'


def arm_expression(name: str, skip: int = -1) -> str:
    """Console-API code that sets the breakpoints of every API found but `skip` (the probe, already set) with
    `debug(fn, condition)`; returns how many."""
    cond = condition(name, 0).replace("(0, this", "(' + i + ', this").replace('"', '\\"')
    return (f"((debug) => {{ const f = {name}(-2); let n = 0; for (let i = 0; i < f.length; i++) "
            f"if (f[i] && i !== {int(skip)}) {{ debug(f[i], '{cond}'); n++; }} return n; }})(debug)")


def rearm_expression(name: str) -> str:
    """Console-API code that re-arms a process's breakpoints for a newer document's functions.

    Setting a breakpoint on a built-in (API) function makes V8 route every existing function object that has a
    breakpoint through its debug trampoline; removing it at once leaves no trace. The spare function is one
    pages do not call (`HTMLMarqueeElement.prototype.start`, taken by the recorder before the page ran).
    """
    return (f"((debug, undebug) => {{ const f = {name}(-4); if (f) {{ debug(f); undebug(f); }} return f ? 1 : 0; }})"
            "(debug, undebug)")

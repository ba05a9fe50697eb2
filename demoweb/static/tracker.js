/* Test-web tracker "__NAME__" (__ENTITY__, __CATEGORY__): identifies the visitor, then reports the page.
   Planted behaviour, described in demoweb/sites/trackers.py: first-party cookies set by script, web storage,
   IndexedDB, and hits (image pixel, sendBeacon, fetch, XHR, script, iframe) carrying the identifiers. */
(function (cfg) {
  var ids = {page: location.href, ref: document.referrer, ts: String(Date.now())};
  function rand() { return String(Math.floor(Math.random() * 1e10)) + "." + Math.floor(Date.now() / 1000); }
  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return parts[i].slice(eq + 1);
    }
    return "";
  }
  cfg.cookies.forEach(function (c) {
    var value = readCookie(c.name);
    if (!value) {
      value = c.prefix + rand();
      document.cookie = c.name + "=" + value + "; max-age=" + c.max_age + "; path=/; SameSite=Lax";
    }
    ids[c.name] = value;
  });
  function keep(store, label, key) {
    try {
      var value = store.getItem(key);
      if (!value) { value = rand(); store.setItem(key, value); }
      ids[label + ":" + key] = value;
    } catch (e) { /* storage blocked: nothing to plant */ }
  }
  cfg.local.forEach(function (key) { keep(window.localStorage, "ls", key); });
  cfg.session.forEach(function (key) { keep(window.sessionStorage, "ss", key); });
  if (cfg.indexeddb && window.indexedDB) {
    var open = indexedDB.open(cfg.indexeddb[0], 1);
    open.onupgradeneeded = function () { open.result.createObjectStore(cfg.indexeddb[1], {keyPath: "id"}); };
    open.onsuccess = function () {
      var tx = open.result.transaction(cfg.indexeddb[1], "readwrite");
      tx.objectStore(cfg.indexeddb[1]).put({id: "visitor", value: rand(), page: location.href});
    };
  }
  function fill(text) {
    return text.replace(/\[\[([^\]]+)\]\]/g, function (m, name) { return encodeURIComponent(ids[name] || ""); });
  }
  function fillBody(text) {
    return text.replace(/\[\[([^\]]+)\]\]/g, function (m, name) { return JSON.stringify(ids[name] || "").slice(1, -1); });
  }
  function hit(h) {
    var url = fill(h.url), body = h.body ? fillBody(h.body) : null;
    if (h.kind === "img") {
      var img = new Image(1, 1); img.src = url;
    } else if (h.kind === "beacon") {
      navigator.sendBeacon(url, body);
    } else if (h.kind === "fetch") {
      fetch(url, {method: "POST", body: body, credentials: "include", keepalive: true,
                  headers: {"Content-Type": "text/plain"}}).catch(function () {});
    } else if (h.kind === "xhr") {
      var xhr = new XMLHttpRequest(); xhr.open("POST", url); xhr.withCredentials = true; xhr.send(body);
    } else if (h.kind === "script") {
      var s = document.createElement("script"); s.async = true; s.src = url; document.head.appendChild(s);
    } else if (h.kind === "iframe") {
      var f = document.createElement("iframe");
      f.src = url; f.width = "300"; f.height = "250"; f.setAttribute("frameborder", "0");
      (document.getElementById(h.slot) || document.body).appendChild(f);
    }
  }
  function run() { cfg.hits.forEach(hit); }
  if (document.body) run(); else document.addEventListener("DOMContentLoaded", run);
})(__CONFIG__);

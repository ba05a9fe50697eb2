'use strict';
/*
 * Preload for the Node SDK drivers (`node --require ./proxy.cjs driver.mjs ...`): every HTTP(S) request the
 * process makes goes through the proxy named by HTTPS_PROXY (or HTTP_PROXY), and nothing else leaves it.
 *
 * Node 20 ignores HTTPS_PROXY, and the SDKs reach the network three ways: the global `fetch` (undici inside
 * Node), the `http`/`https` modules (axios, superagent, the SDKs' own transports) and, below both, `net`
 * sockets. So this file
 *   1. sets undici's global dispatcher to a ProxyAgent: Node's built-in fetch reads the same global symbol,
 *      and undici is pinned to the version Node 20 bundles (package.json) so both agree on the handler API;
 *   2. forces a CONNECT-tunnel agent (https-proxy-agent) on every `http`/`https` request, over any agent an
 *      SDK passes (global-agent 4 was tried: on Node 20 it verifies the certificate against "localhost");
 *   3. removes the proxy variables from the environment afterwards: axios, mixpanel and Sentry read them
 *      themselves and would proxy a second time inside our tunnel (axios sends https URLs in clear to the
 *      proxy when it does);
 *   4. refuses, fail closed, any socket to an address other than the proxy's, so an SDK transport we did
 *      not foresee cannot reach a real production host unseen.
 * Without a proxy in the environment it exits with status 2: the drivers name real production hosts.
 */

const net = require('node:net');

const PROXY_VARS = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];
// Where the proxy stays once the standard variables are removed (step 3): Node runs --require preloads again in
// every worker thread, the ESM loader-hooks thread included (Sentry registers hooks there), and a worker's
// environment is a copy of ours taken after step 3. No SDK reads this name.
const KEPT = 'MOUCHARD_SDK_PROXY';

function fail(message) {
  process.stderr.write(`proxy.cjs: ${message}\n`);
  process.exit(2);
}

const raw = [...PROXY_VARS, KEPT].map((name) => process.env[name]).find((value) => value);
if (!raw) {
  fail('set HTTPS_PROXY (http://127.0.0.1:PORT of `mouchard proxy`): the SDK drivers must not reach the network directly');
}
let proxy;
try {
  proxy = new URL(raw);
} catch {
  fail('HTTPS_PROXY is not a URL');
}
if (proxy.protocol !== 'http:' || !proxy.hostname) {
  fail('HTTPS_PROXY must be an http:// URL with a host (the proxy speaks HTTP CONNECT)');
}
const proxyHost = proxy.hostname.replace(/^\[|\]$/g, '');
const proxyPort = Number(proxy.port || 80);
const proxyUrl = `http://${proxy.host}`; // credentials, path and query dropped: none of ours has any

// 4. Installed first, so that nothing below can open a socket elsewhere either.
const originalConnect = net.Socket.prototype.connect;
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);
function sameHost(host) {
  return host === proxyHost || (LOOPBACK_NAMES.has(host) && LOOPBACK_NAMES.has(proxyHost));
}
net.Socket.prototype.connect = function connectThroughProxyOnly(...args) {
  // net's own argument shapes: (options[, cb]), (port[, host][, cb]), (path[, cb]), or an internal [options, cb].
  let options = args[0];
  if (Array.isArray(options)) options = options[0];
  let host;
  let port;
  let path;
  if (options !== null && typeof options === 'object') {
    ({ host, port, path } = options);
  } else if (typeof options === 'number' || (typeof options === 'string' && /^\d+$/.test(options))) {
    port = options;
    host = typeof args[1] === 'string' ? args[1] : undefined;
  } else {
    path = options;
  }
  const allowed = path === undefined && sameHost(host || 'localhost') && Number(port) === proxyPort;
  if (!allowed) {
    const where = path !== undefined ? `unix socket ${path}` : `${host || 'localhost'}:${port}`;
    const error = new Error(`proxy.cjs refused a direct connection to ${where}: only ${proxy.host} may be reached`);
    error.code = 'EMOUCHARDDIRECT';
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return originalConnect.apply(this, args);
};

// 1. fetch.
const { ProxyAgent, setGlobalDispatcher } = require('undici');
setGlobalDispatcher(new ProxyAgent({ uri: proxyUrl }));

// 2. http / https: one CONNECT-tunnel agent per module (https-proxy-agent also tunnels plain http, which
// mitmproxy recognises inside the tunnel), forced over any agent an SDK brings, as `request` and `get` of both
// modules are replaced (`get` calls a module-local `request`, so both need it).
const http = require('node:http');
const https = require('node:https');
const { HttpsProxyAgent } = require('https-proxy-agent');
function force(module, agent) {
  const originalRequest = module.request;
  const originalGet = module.get;
  const withAgent = (original) => function requestThroughProxy(...args) {
    // (url[, options][, callback]) or (options[, callback]), as Node accepts them.
    const hasUrl = typeof args[0] === 'string' || args[0] instanceof URL;
    const at = hasUrl ? 1 : 0;
    if (hasUrl && (args.length < 2 || typeof args[1] === 'function')) args.splice(1, 0, {});
    args[at] = { ...args[at], agent };
    return original.apply(this, args);
  };
  module.globalAgent = agent;
  module.request = withAgent(originalRequest);
  module.get = withAgent(originalGet);
}
force(http, new HttpsProxyAgent(proxyUrl, { keepAlive: false }));
force(https, new HttpsProxyAgent(proxyUrl, { keepAlive: false }));

// 3.
for (const name of [...PROXY_VARS, 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']) delete process.env[name];
process.env[KEPT] = proxyUrl;

// The drivers check this mark and refuse to run without it (they were started without the preload).
globalThis[Symbol.for('mouchard.proxy')] = Object.freeze({ url: proxyUrl });

/*
 * What every Node SDK driver shares: the command line (`node --require proxy.cjs <sdk>.mjs <values.json>
 * <case>`), the values of that case, the SDK's installed version, a watchdog, and the one JSON line printed
 * at the end: {"sdk", "version", "sent": [kinds], "where": {kind: "field the SDK put it in"}}.
 *
 * The values file is written by tests/sdks/values.py ({"kinds", "planted", "decoy"}). A case is one kind (only
 * that planted value is sent) or "decoy" (only decoy values, every kind the SDK carries).
 */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const WATCHDOG_MS = 120_000; // a guard against an SDK that never returns, not a timing assertion

/** Print `message` on stderr and exit with `status` (2: usage or environment, 1: the SDK failed to send). */
export function die(message, status = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(status);
}

/** The version of an installed npm package, read from its package.json (never from the network). */
export function installedVersion(pkg) {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', ...pkg.split('/'), 'package.json'), 'utf8'));
  return manifest.version;
}

/**
 * Parse the command line and return {case, values, first, last}: `values` maps each kind to send to its value
 * (location as {lat, lon}); `first`/`last` are the split name when `name` is sent. Exits 2 on a bad call, or
 * when the proxy preload is missing (the drivers name real production hosts: they never run unproxied).
 */
export function setup(kindsCarried) {
  if (!globalThis[Symbol.for('mouchard.proxy')]) {
    die('run with `node --require tests/sdks/node/proxy.cjs` and HTTPS_PROXY set', 2);
  }
  const [file, wanted] = process.argv.slice(2);
  if (!file || !wanted) die('usage: node --require proxy.cjs <sdk>.mjs <values.json> <kind|decoy>', 2);
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    die(`cannot read the values file: ${error.message}`, 2);
  }
  const kinds = Array.isArray(doc.kinds) ? doc.kinds : [];
  if (wanted !== 'decoy' && !kinds.includes(wanted)) die(`unknown case ${JSON.stringify(wanted)}: one of ${kinds.join(', ')} or decoy`, 2);
  const source = wanted === 'decoy' ? doc.decoy : doc.planted;
  if (!source || typeof source !== 'object') die('the values file has no planted/decoy object', 2);
  const values = {};
  for (const kind of wanted === 'decoy' ? kinds : [wanted]) {
    if (kindsCarried.includes(kind) && source[kind] !== undefined) values[kind] = source[kind];
  }
  if (values.location && !(Number.isFinite(values.location.lat) && Number.isFinite(values.location.lon))) {
    die('location must be {"lat": number, "lon": number}', 2);
  }
  const watchdog = setTimeout(() => die(`the SDK did not finish within ${WATCHDOG_MS / 1000} s`, 3), WATCHDOG_MS);
  watchdog.unref();
  return { case: wanted, values, first: source.first_name, last: source.last_name };
}

/**
 * Print the driver's one JSON line on stdout (the harness reads it) and exit 0. Called once the SDK's own
 * flush or shutdown has resolved; the exit stops the SDK's flush timers, which would keep Node alive.
 */
export function report(sdk, pkg, values, where) {
  const sent = Object.keys(values).sort();
  const fields = Object.fromEntries(sent.map((kind) => [kind, where[kind]]));
  const line = `${JSON.stringify({ sdk, version: installedVersion(pkg), sent, where: fields })}\n`;
  process.stdout.write(line, () => process.exit(0));
}

/** Resolve after `ms` (used only to let an SDK's own timer-based flush start, never as an assertion). */
export const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Count the process's http/https requests (after the proxy preload has forced its agent on them), for SDKs
 * without a flush that can be awaited (Countly). Returns {done(isQueueEmpty)}: a promise that resolves once the
 * SDK's own queue is empty, at least one request was made and none is in flight; it rejects on a failed one.
 */
export async function watchRequests() {
  const http = await import('node:http');
  const https = await import('node:https');
  const state = { inFlight: 0, finished: 0, failures: [] };
  for (const module of [http.default, https.default]) {
    const original = module.request;
    module.request = function countedRequest(...args) {
      const request = original.apply(this, args);
      state.inFlight += 1;
      request.on('response', (response) => {
        if (response.statusCode >= 400) state.failures.push(`HTTP ${response.statusCode}`);
      });
      request.on('error', (error) => state.failures.push(error.message));
      request.on('close', () => {
        state.inFlight -= 1;
        state.finished += 1;
      });
      return request;
    };
  }
  const done = (isQueueEmpty) => new Promise((resolve, reject) => {
    const check = () => {
      if (state.failures.length) return reject(new Error(state.failures.join('; ')));
      if (isQueueEmpty() && state.finished > 0 && state.inFlight === 0) return resolve(state.finished);
      setTimeout(check, 50); // the SDK's queue is not observable by events: re-check its state, bounded by the watchdog
    };
    check();
  });
  return { done };
}

/** The Segment spec's fields (Segment's SDK and RudderStack's, which follows it): identify traits `email`,
 * `phone`, `firstName`/`lastName`; `context.device.advertisingId` and `id`; `context.location`. */
export function segmentSpec(values, first, last) {
  const context = { device: {} };
  if (values.advertising_id) Object.assign(context.device, { advertisingId: values.advertising_id, adTrackingEnabled: true });
  if (values.android_id) context.device.id = values.android_id;
  if (values.location) context.location = { latitude: values.location.lat, longitude: values.location.lon };
  const traits = {};
  if (values.email) traits.email = values.email;
  if (values.phone) traits.phone = values.phone;
  if (values.name) Object.assign(traits, { firstName: first, lastName: last });
  return { context, traits };
}

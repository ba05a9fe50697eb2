/*
 * Amplitude's Node SDK (@amplitude/analytics-node): one event to https://api2.amplitude.com/2/httpapi (JSON,
 * POSTed with the `https` module). Device identifiers and the position are event fields of the HTTP V2 API
 * (`adid` = Google advertising id, `android_id`, `location_lat`/`location_lng`); e-mail, phone and name are
 * user properties set by an Identify (`$set`).
 */
import { createInstance, Identify } from '@amplitude/analytics-node';
import { die, report, setup } from './_common.mjs';

const { values } = setup(['advertising_id', 'android_id', 'email', 'phone', 'name', 'location']);
const where = {
  advertising_id: 'events[].adid', android_id: 'events[].android_id', email: 'events[].user_properties.$set.email',
  phone: 'events[].user_properties.$set.phone', name: 'events[].user_properties.$set.name',
  location: 'events[].location_lat / location_lng',
};

const client = createInstance();
await client.init('9d3c0f6a5b7e4c21a8f0e6d4b2c19a73', { flushIntervalMillis: 60_000, logLevel: 0 }).promise;
const options = { user_id: 'player-4821', device_id: 'device-7c1e9b' };
if (values.advertising_id) options.adid = values.advertising_id;
if (values.android_id) options.android_id = values.android_id;
if (values.location) {
  options.location_lat = values.location.lat;
  options.location_lng = values.location.lon;
}
const pending = [client.track('level_complete', { level: 3 }, options).promise];
const traits = new Identify();
for (const kind of ['email', 'phone', 'name']) if (values[kind]) traits.set(kind, values[kind]);
if (values.email || values.phone || values.name) pending.push(client.identify(traits, options).promise);
await client.flush().promise;
for (const result of await Promise.all(pending)) {
  if (result.code !== 200) die(`amplitude: ${result.code} ${result.message}`);
}
report('amplitude', '@amplitude/analytics-node', values, where);

/*
 * PostHog's Node SDK (posthog-node): a batch POSTed with fetch to https://us.i.posthog.com/batch/, gzipped by
 * the SDK (CompressionStream, Content-Encoding: gzip, Content-Type still application/json). identify() sends person properties
 * (`$set`: email, phone, name, and the advertising id as a custom person property); the Android id is the
 * `$device_id` event property PostHog's mobile SDKs set; the position has no PostHog field, apps send it as
 * event properties (`$latitude`/`$longitude` are not special to PostHog: custom properties).
 */
import { PostHog } from 'posthog-node';
import { die, report, setup } from './_common.mjs';

const { values } = setup(['advertising_id', 'android_id', 'email', 'phone', 'name', 'location']);
const where = {
  advertising_id: 'batch[].properties.$set.advertising_id (custom person property)',
  android_id: 'batch[].properties.$device_id', email: 'batch[].properties.$set.email',
  phone: 'batch[].properties.$set.phone', name: 'batch[].properties.$set.name',
  location: 'batch[].properties.$latitude / $longitude (custom event properties)',
};

const errors = [];
const client = new PostHog('phc_3kV9sQ2bX7mT4nW8yL1cR6dF0gH5jP2aZ7uE9iO4', { flushAt: 20, flushInterval: 0, fetchRetryCount: 0 });
client.on('error', (error) => errors.push(error));
const distinctId = 'player-4821';
const person = {};
for (const kind of ['email', 'phone', 'name']) if (values[kind]) person[kind] = values[kind];
if (values.advertising_id) person.advertising_id = values.advertising_id;
if (Object.keys(person).length) client.identify({ distinctId, properties: person });
const properties = { level: 3 };
if (values.android_id) properties.$device_id = values.android_id;
if (values.location) {
  properties.$latitude = values.location.lat;
  properties.$longitude = values.location.lon;
}
client.capture({ distinctId, event: 'level_complete', properties });
await client.shutdown();
if (errors.length) die(`posthog: ${errors.map(String).join('; ')}`);
report('posthog', 'posthog-node', values, where);

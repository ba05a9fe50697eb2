/*
 * Mixpanel's Node SDK (mixpanel): each call is a GET to https://api.mixpanel.com/track or /engage whose `data`
 * query parameter is base64 of the JSON message. People properties carry e-mail, phone and the name split in
 * two (`$email`, `$phone`, `$first_name`, `$last_name`); the position is the documented `$latitude`/`$longitude`
 * event properties; the Android id goes in `$device_id` (the id Mixpanel's identity merge keys devices on),
 * the advertising id as a custom super property.
 */
import Mixpanel from 'mixpanel';
import { die, report, setup } from './_common.mjs';

const { values, first, last } = setup(['advertising_id', 'android_id', 'email', 'phone', 'name', 'location']);
const where = {
  advertising_id: 'track data=base64(JSON).properties.advertising_id (custom)',
  android_id: 'track data=base64(JSON).properties.$device_id', email: 'engage data=base64(JSON).$set.$email',
  phone: 'engage data=base64(JSON).$set.$phone', name: 'engage data=base64(JSON).$set.$first_name + $last_name',
  location: 'track data=base64(JSON).properties.$latitude / $longitude',
};

const mixpanel = Mixpanel.init('6a1f0c9e2d4b8a7f3e5c1d9b0a2f4e6c', { keepAlive: false });
const distinctId = 'player-4821';
const call = (fn) => new Promise((resolve, reject) => fn((error) => (error ? reject(error) : resolve())));
const calls = [];
const properties = { distinct_id: distinctId, level: 3 };
if (values.advertising_id) properties.advertising_id = values.advertising_id;
if (values.android_id) properties.$device_id = values.android_id;
if (values.location) {
  properties.$latitude = values.location.lat;
  properties.$longitude = values.location.lon;
}
calls.push(call((done) => mixpanel.track('level_complete', properties, done)));
const people = {};
if (values.email) people.$email = values.email;
if (values.phone) people.$phone = values.phone;
if (values.name) Object.assign(people, { $first_name: first, $last_name: last });
if (Object.keys(people).length) calls.push(call((done) => mixpanel.people.set(distinctId, people, done)));
try {
  await Promise.all(calls);
} catch (error) {
  die(`mixpanel: ${error.message}`);
}
report('mixpanel', 'mixpanel', values, where);

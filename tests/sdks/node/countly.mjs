/*
 * Countly's Node SDK (countly-sdk-nodejs): every request is a GET to <server>/i whose parameters hold
 * URL-encoded JSON (`user_details=`, `events=`, `metrics=`). Countly has no default host (self-hosted, or a
 * *.count.ly server). E-mail, phone and name are user details; the device id is what Countly's Android SDK
 * sets it to (the advertising id with DeviceIdType.ADVERTISING_ID, else the Android id; the other one then goes
 * in a custom user property). This SDK has no latitude/longitude call (only city, country, IP): apps put the
 * position in event segmentation, where Countly keeps values as strings, so `events=` carries URL-encoded
 * JSON with "44.841225" as a string.
 */
import Countly from 'countly-sdk-nodejs';
import storage from 'countly-sdk-nodejs/lib/countly-storage.js';
import { die, report, setup, watchRequests } from './_common.mjs';

const { values } = setup(['advertising_id', 'android_id', 'email', 'phone', 'name', 'location']);
const deviceId = values.advertising_id || values.android_id || 'device-7c1e9b';
const where = {
  advertising_id: 'GET /i?device_id=',
  android_id: values.advertising_id ? 'GET /i?user_details=URL-encoded JSON .custom.android_id' : 'GET /i?device_id=',
  email: 'GET /i?user_details=URL-encoded JSON .email', phone: 'GET /i?user_details=URL-encoded JSON .phone',
  name: 'GET /i?user_details=URL-encoded JSON .name',
  location: 'GET /i?events=URL-encoded JSON [].segmentation.latitude / longitude (strings)',
};

const requests = await watchRequests();
// Memory storage: by default the SDK writes its queue and device id in files beside itself (node_modules/../data).
Countly.init({
  app_key: '5e2c7a9d1f3b8e6c4a0d2f7b9e1c3a5d8f0b2e4c', url: 'https://mouchard-lab.count.ly', device_id: deviceId,
  storage_type: Countly.StorageTypes.MEMORY, interval: 100, fail_timeout: 1, app_version: '2.4.1', clear_stored_device_id: true,
  metrics: { _os: 'Android', _os_version: '14', _device: 'Pixel 8' },
});
Countly.begin_session(true);
const user = {};
for (const kind of ['email', 'phone', 'name']) if (values[kind]) user[kind] = values[kind];
if (values.advertising_id && values.android_id) user.custom = { android_id: values.android_id };
if (Object.keys(user).length) Countly.user_details(user);
const segmentation = { level: '3' };
if (values.location) Object.assign(segmentation, { latitude: String(values.location.lat), longitude: String(values.location.lon) });
Countly.add_event({ key: 'level_complete', count: 1, segmentation });
const empty = () => storage.storeGet('cly_queue', []).length === 0 && storage.storeGet('cly_event', []).length === 0;
try {
  await requests.done(empty);
} catch (error) {
  die(`countly: ${error.message}`);
}
report('countly', 'countly-sdk-nodejs', values, where);

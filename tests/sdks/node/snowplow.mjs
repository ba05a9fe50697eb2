/*
 * Snowplow's Node tracker (@snowplow/node-tracker): events POSTed with fetch to the collector's
 * /com.snowplowanalytics.snowplow/tp2 as JSON ({"schema": payload_data, "data": [...]}); with encodeBase64 (the
 * default) every context entity list is `cx`, URL-safe base64 of JSON without padding, and the screen view is
 * `ue_px`, base64 too. Snowplow has no default host (self-hosted, or a *.collector.snplow.net BDP collector).
 * Documented places: the user id `uid` (apps set it to the e-mail), `mobile_context.androidIdfa` (advertising
 * id), `geolocation_context.latitude/longitude`; the Android id, name and phone have no Snowplow schema, so they
 * travel in the app's own context entities (iglu:com.example.game/...), as Snowplow recommends for custom data.
 */
import { buildScreenView, newTracker } from '@snowplow/node-tracker';
import { die, report, setup } from './_common.mjs';

const { values } = setup(['advertising_id', 'android_id', 'email', 'phone', 'name', 'location']);
const where = {
  advertising_id: 'tp2 data[].cx = base64url(JSON) mobile_context.androidIdfa',
  android_id: 'tp2 data[].cx = base64url(JSON) com.example.game/device.androidId (custom entity)',
  email: 'tp2 data[].uid', phone: 'tp2 data[].cx = base64url(JSON) com.example.game/user.phone (custom entity)',
  name: 'tp2 data[].cx = base64url(JSON) com.example.game/user.name (custom entity)',
  location: 'tp2 data[].cx = base64url(JSON) geolocation_context.latitude / longitude',
};

// The emitter reports each request through these callbacks (on a later tick): the driver waits for one, since
// with bufferSize 1 track() starts the send itself and flush() returns at once while it is in progress.
const failures = [];
let delivered = 0;
let settle;
const outcome = new Promise((resolve) => { settle = resolve; });
const tracker = newTracker({ namespace: 'game', appId: 'com.example.game', encodeBase64: true }, {
  endpoint: 'https://com-example-prod1.collector.snplow.net', eventMethod: 'post', bufferSize: 1,
  retryFailedRequests: false,
  onRequestSuccess: () => { delivered += 1; settle(); },
  onRequestFailure: (failure) => { failures.push(`HTTP ${failure.status ?? '?'} ${failure.message ?? ''}`.trim()); settle(); },
});
tracker.setPlatform('mob');
if (values.email) tracker.setUserId(values.email);
const mobile = { osType: 'android', osVersion: '14', deviceManufacturer: 'Google', deviceModel: 'Pixel 8' };
if (values.advertising_id) mobile.androidIdfa = values.advertising_id;
const context = [{ schema: 'iglu:com.snowplowanalytics.snowplow/mobile_context/jsonschema/1-0-2', data: mobile }];
if (values.android_id) context.push({ schema: 'iglu:com.example.game/device/jsonschema/1-0-0', data: { androidId: values.android_id } });
const person = {};
if (values.name) person.name = values.name;
if (values.phone) person.phone = values.phone;
if (Object.keys(person).length) context.push({ schema: 'iglu:com.example.game/user/jsonschema/1-0-0', data: person });
if (values.location) {
  context.push({ schema: 'iglu:com.snowplowanalytics.snowplow/geolocation_context/jsonschema/1-1-0',
    data: { latitude: values.location.lat, longitude: values.location.lon } });
}
tracker.track(buildScreenView({ name: 'level_3', id: '0f5b7c3a-9d2e-4c61-8a4f-2b7e1d9c6a05' }), context);
await tracker.flush();
await outcome;
if (failures.length) die(`snowplow: ${failures.join('; ')}`);
if (!delivered) die('snowplow: no request reached the collector');
report('snowplow', '@snowplow/node-tracker', values, where);

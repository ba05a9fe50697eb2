/*
 * Sentry's Node SDK (@sentry/node): an event POSTed with the `https` module to the DSN's ingest host
 * (https://o<org>.ingest.us.sentry.io/api/<project>/envelope/) as an envelope: newline-delimited JSON (an
 * envelope header, an item header, the event), gzipped by the SDK only past 32 KiB. The user interface carries
 * `email`, `name`, `id` (the advertising id, as apps that key users on it do; the session envelope repeats it as
 * `did`) and free keys (`phone`); the Android id is `contexts.device.id`; Sentry has no coordinates field
 * (user.geo is city/country/region), so the position is a custom `location` context. The event also carries the
 * driver's own source lines (ContextLines): they name no value, the values come from the JSON file.
 */
import * as Sentry from '@sentry/node';
import { die, report, setup } from './_common.mjs';

const { values } = setup(['advertising_id', 'android_id', 'email', 'phone', 'name', 'location']);
const where = {
  advertising_id: 'envelope line 3 (event).user.id; session envelope line 3 .did', android_id: 'envelope line 3 (event).contexts.device.id',
  email: 'envelope line 3 (event).user.email', phone: 'envelope line 3 (event).user.phone (free key)',
  name: 'envelope line 3 (event).user.name', location: 'envelope line 3 (event).contexts.location.latitude / longitude',
};

const failures = [];
Sentry.init({
  dsn: 'https://4f8a2c6e1b9d4e7f8a0c2e4b6d8f1a3c@o4508123456789012.ingest.us.sentry.io/4508123456789013',
  release: 'com.example.game@2.4.1', environment: 'production', sendDefaultPii: false, tracesSampleRate: 0,
  beforeSend: (event) => event,
});
Sentry.getClient()?.on('afterSendEvent', (event, response) => {
  if (!response || (response.statusCode && response.statusCode >= 400)) failures.push(`HTTP ${response?.statusCode}`);
});
const user = { id: values.advertising_id || 'player-4821' };
if (values.email) user.email = values.email;
if (values.name) user.name = values.name;
if (values.phone) user.phone = values.phone;
Sentry.setUser(user);
if (values.android_id) Sentry.setContext('device', { id: values.android_id, model: 'Pixel 8', family: 'Pixel' });
if (values.location) Sentry.setContext('location', { latitude: values.location.lat, longitude: values.location.lon });
Sentry.captureException(new Error('Level 3 failed to load'));
if (!(await Sentry.close(60_000))) die('sentry: the event was not sent before close()');
if (failures.length) die(`sentry: ${failures.join('; ')}`);
report('sentry', '@sentry/node', values, where);

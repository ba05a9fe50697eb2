/*
 * mParticle's Node SDK (mparticle): one batch POSTed as JSON with superagent to https://s2s.mparticle.com/v2/events
 * (Basic auth with the key and secret). Its documented fields: `device_info.android_advertising_id` and
 * `device_info.android_uuid` (the Android id), `user_identities.email` and `.mobile_number`, the reserved user
 * attributes `$FirstName`/`$LastName`, and an event's `data.location` {latitude, longitude}.
 */
import mParticle from 'mparticle';
import { die, report, setup } from './_common.mjs';

const { values, first, last } = setup(['advertising_id', 'android_id', 'email', 'phone', 'name', 'location']);
const where = {
  advertising_id: 'batch.device_info.android_advertising_id', android_id: 'batch.device_info.android_uuid',
  email: 'batch.user_identities.email', phone: 'batch.user_identities.mobile_number',
  name: 'batch.user_attributes.$FirstName + $LastName', location: 'batch.events[].data.location.latitude / longitude',
};

const api = new mParticle.EventsApi(new mParticle.Configuration('us1-7a2e9c4b1d6f8e03a5c7b9d1f3e5a7c9', 'kQ8vR2xT5wZ9bN3mL6pJ1hG4'));
const batch = new mParticle.Batch(mParticle.Batch.Environment.production);
batch.user_identities = new mParticle.UserIdentities();
batch.user_identities.customerid = 'player-4821';
if (values.email) batch.user_identities.email = values.email;
if (values.phone) batch.user_identities.mobile_number = values.phone;
batch.device_info = new mParticle.DeviceInformation();
Object.assign(batch.device_info, { platform: 'Android', os_version: '14', device_manufacturer: 'Google', device_model: 'Pixel 8' });
if (values.advertising_id) batch.device_info.android_advertising_id = values.advertising_id;
if (values.android_id) batch.device_info.android_uuid = values.android_id;
if (values.name) batch.user_attributes = { $FirstName: first, $LastName: last };
const event = new mParticle.AppEvent(mParticle.AppEvent.CustomEventType.other, 'level_complete');
event.custom_attributes = { level: '3' };
if (values.location) event.location = new mParticle.GeoLocation(values.location.lat, values.location.lon);
batch.addEvent(event);
try {
  await new Promise((resolve, reject) => api.uploadEvents(batch, (error) => (error ? reject(error) : resolve())));
} catch (error) {
  die(`mparticle: ${error.status ?? ''} ${error.message}`);
}
report('mparticle', 'mparticle', values, where);

/*
 * Meta's Conversions API client (facebook-nodejs-business-sdk): one server event POSTed with axios to
 * https://graph.facebook.com/v24.0/<pixel id>/events as JSON. The SDK normalises and SHA-256-hashes the
 * personal fields itself: `em` (trimmed, lower-cased e-mail), `ph` (digits only, no leading + or zeros:
 * 33687412953), `fn` and `ln` (each name lower-cased on its own, accents kept). `madid` (the mobile advertiser id)
 * and `external_id` (here the Android id, as apps that key users on it do) go in clear: the SDK does not hash
 * them. user_data has city/state/zip/country but no coordinates: this SDK cannot carry a position.
 */
import bizSdk from 'facebook-nodejs-business-sdk';
import { die, report, setup } from './_common.mjs';

const { values, first, last } = setup(['advertising_id', 'android_id', 'email', 'phone', 'name']);
const where = {
  advertising_id: 'data[].user_data.madid', android_id: 'data[].user_data.external_id[]',
  email: 'data[].user_data.em[] = sha256(lower-cased e-mail)', phone: 'data[].user_data.ph[] = sha256(E.164 digits)',
  name: 'data[].user_data.fn[] + ln[] = sha256 of each lower-cased name',
};

const { FacebookAdsApi, EventRequest, ServerEvent, UserData, CustomData } = bizSdk;
FacebookAdsApi.init('EAAGm0PX4ZCpsBAKZCeRrT1q5ZBZCvZAbZBz0mouchardlabZC9TestTokenQ');
const user = new UserData().setClientUserAgent('com.example.game/2.4.1 (Linux; Android 14; Pixel 8)');
if (values.email) user.setEmail(values.email);
if (values.phone) user.setPhone(values.phone);
if (values.name) user.setFirstName(first).setLastName(last);
if (values.advertising_id) user.setMadid(values.advertising_id);
if (values.android_id) user.setExternalId(values.android_id);
const event = new ServerEvent().setEventName('Purchase').setEventTime(Math.floor(Date.now() / 1000))
  .setActionSource('app').setUserData(user).setCustomData(new CustomData().setCurrency('eur').setValue(4.99));
try {
  await new EventRequest('EAAGm0PX4ZCpsBAKZCeRrT1q5ZBZCvZAbZBz0mouchardlabZC9TestTokenQ', '1234567890123456').setEvents([event]).execute();
} catch (error) {
  die(`facebook: ${error.message}`);
}
report('facebook', 'facebook-nodejs-business-sdk', values, where);

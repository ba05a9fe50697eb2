/*
 * RudderStack's Node SDK (@rudderstack/rudder-sdk-node): a batch POSTed with axios to the data plane's
 * /v1/batch, gzipped by default (Content-Encoding: gzip, yet Content-Type: application/x-www-form-urlencoded, as
 * axios labels a Buffer). The SDK copies identify traits into context.traits too. Its default data plane is
 * https://hosted.rudderlabs.com. RudderStack follows the Segment spec: identify traits `email`, `phone`,
 * `firstName`/`lastName`; `context.device.advertisingId` and `context.device.id`; `context.location`.
 */
import Analytics from '@rudderstack/rudder-sdk-node';
import { die, report, segmentSpec, setup } from './_common.mjs';

const { values, first, last } = setup(['advertising_id', 'android_id', 'email', 'phone', 'name', 'location']);
const where = {
  advertising_id: 'gzip batch[].context.device.advertisingId', android_id: 'gzip batch[].context.device.id',
  email: 'gzip batch[].traits.email and context.traits.email', phone: 'gzip batch[].traits.phone and context.traits.phone',
  name: 'gzip batch[].traits.firstName + lastName (and context.traits)', location: 'gzip batch[].context.location.latitude / longitude',
};

const client = new Analytics('2ZkT4nW8yL1cR6dF0gH5jP2aZ7u', { flushInterval: 60_000, retryCount: 0, logLevel: 'error' });
const { context, traits } = segmentSpec(values, first, last);
const userId = 'player-4821';
const sent = [];
const queue = (method, message) => sent.push(new Promise((resolve, reject) => {
  client[method](message, (error) => (error ? reject(error) : resolve()));
}));
if (Object.keys(traits).length) queue('identify', { userId, traits, context });
queue('track', { userId, event: 'Level Completed', properties: { level: 3 }, context });
try {
  await client.flush();
  await Promise.all(sent);
} catch (error) {
  die(`rudderstack: ${error.message}`);
}
report('rudderstack', '@rudderstack/rudder-sdk-node', values, where);

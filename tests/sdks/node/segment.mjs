/*
 * Segment's Node SDK (@segment/analytics-node): a JSON batch POSTed with fetch to
 * https://api.segment.io/v1/batch (write key in a Basic Authorization header). The Segment spec's own fields:
 * identify traits `email`, `phone`, `firstName`/`lastName`; `context.device.advertisingId`; `context.device.id`
 * (the Android id on Android); `context.location.latitude`/`longitude`.
 */
import { Analytics } from '@segment/analytics-node';
import { die, report, segmentSpec, setup } from './_common.mjs';

const { values, first, last } = setup(['advertising_id', 'android_id', 'email', 'phone', 'name', 'location']);
const where = {
  advertising_id: 'batch[].context.device.advertisingId', android_id: 'batch[].context.device.id',
  email: 'batch[].traits.email', phone: 'batch[].traits.phone', name: 'batch[].traits.firstName + lastName',
  location: 'batch[].context.location.latitude / longitude',
};

const errors = [];
const analytics = new Analytics({ writeKey: 'kT4nW8yL1cR6dF0gH5jP2aZ7uE9iO4sQ', maxRetries: 0, flushInterval: 60_000 });
analytics.on('error', (error) => errors.push(error));
const { context, traits } = segmentSpec(values, first, last);
const userId = 'player-4821';
if (Object.keys(traits).length) analytics.identify({ userId, traits, context });
analytics.track({ userId, event: 'Level Completed', properties: { level: 3 }, context });
await analytics.closeAndFlush({ timeout: 60_000 });
if (errors.length) die(`segment: ${errors.map((e) => e.reason ?? e.code ?? String(e)).join('; ')}`);
report('segment', '@segment/analytics-node', values, where);

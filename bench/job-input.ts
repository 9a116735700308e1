import { randomBytes } from 'node:crypto';
import { acquireClient } from '../src/pravega/client/client-registry.js';
import { bytesSerializer } from '../src/pravega/client/serializer.js';

/**
 * Writes the input of bench/job.ts in its own process, so that the job's process holds only the
 * job (its RSS is the job's): `tsx bench/job-input.ts <uri> <scope> <events> <size>` creates
 * `<scope>/in` and `<scope>/out` (4 segments each) and writes `events` events of `size` bytes
 * over 16 routing keys (the first byte of each event is its key's number).
 */

const [uri, scope, eventsArg, sizeArg] = process.argv.slice(2);
if (uri === undefined || scope === undefined || eventsArg === undefined || sizeArg === undefined) {
  console.error('usage: tsx bench/job-input.ts <uri> <scope> <events> <size>');
  process.exit(2);
}
const events = Number(eventsArg);
const size = Number(sizeArg);
const shared = await acquireClient(uri);
const client = shared.client;
await client.createScope(scope);
await client.createStream(`${scope}/in`, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
await client.createStream(`${scope}/out`, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
const writer = await client.createWriter(`${scope}/in`, bytesSerializer);
const payloads = Array.from({ length: 64 }, (_, i) => {
  const p = randomBytes(size);
  p[0] = i % 16;
  return p;
});
for (let i = 0; i < events; i++) {
  void writer.write(payloads[i % 64]!, `k${i % 16}`);
  if (i % 2000 === 1999) await writer.ready();
}
await writer.close();
await shared.release();

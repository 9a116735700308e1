/**
 * A child process that opens an embedded store through a client and prints one JSON line: what
 * happened (`{ ok: true }`, or the error's code, message and details).
 *
 *   open-child.ts <dir>
 */
import { PravegaClient } from '../../../src/pravega/client/index.js';
import { TributaryError } from '../../../src/errors.js';

const dir = process.argv[2] ?? '';
try {
  const client = await PravegaClient.connect(`embedded:${dir}`);
  await client.close();
  console.log(JSON.stringify({ ok: true }));
} catch (err) {
  console.log(
    JSON.stringify(
      TributaryError.is(err)
        ? { ok: false, code: err.code, message: err.message, details: err.details }
        : { ok: false, message: String(err) },
    ),
  );
}

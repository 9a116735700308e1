import { TributaryError } from '../../../src/errors.js';

/** The TributaryError `promise` rejects with (anything else, or no rejection, fails the test). */
export async function rejection(promise: PromiseLike<unknown>): Promise<TributaryError> {
  try {
    await promise;
  } catch (err) {
    if (TributaryError.is(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

// the module's Buffer, not the global one: in Node the global is an accessor, called on each use
import { Buffer } from 'node:buffer';
import { TributaryError, errorMessage } from '../../errors.js';

/** Turns values into event payloads and back. */
export interface Serializer<T> {
  serialize(value: T): Buffer;
  deserialize(payload: Buffer): T;
}

export const bytesSerializer: Serializer<Buffer> = {
  serialize: (value) => value,
  deserialize: (payload) => payload,
};

export const utf8Serializer: Serializer<string> = {
  serialize: (value) => Buffer.from(value, 'utf8'),
  deserialize: (payload) => payload.toString('utf8'),
};

/** JSON text in UTF-8. A payload that is not JSON is a DESERIALIZATION_FAILED error. */
export function jsonSerializer<T>(): Serializer<T> {
  return {
    serialize: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
    deserialize: (payload) => {
      try {
        return JSON.parse(payload.toString('utf8')) as T;
      } catch (err) {
        throw new TributaryError(
          'DESERIALIZATION_FAILED',
          `event is not JSON: ${errorMessage(err)}`,
          { cause: err },
        );
      }
    },
  };
}

import { TributaryError } from '../../errors.js';

/**
 * The header the schema registry's serializers (io.pravega:schemaregistry-serializers-shared
 * 0.2.0, `AbstractSerializer.serialize`) put before every event: one protocol byte 0x01, then the
 * encoding id as a 4-byte big-endian int (`ByteBuffer.putInt`), then the payload — encoded by the
 * codec the encoding id names ('' = none, the only one Tributary writes or reads). The
 * deserializers (`AbstractDeserializer`) read the same 5 bytes and look the encoding id up with
 * `GET /v1/groups/{group}/encodings/{id}` to learn the writer's schema and codec.
 */

export const REGISTRY_PROTOCOL = 0x01;
export const REGISTRY_HEADER_SIZE = 5;

export function writeRegistryHeader(encodingId: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(REGISTRY_HEADER_SIZE + payload.length);
  out[0] = REGISTRY_PROTOCOL;
  out.writeInt32BE(encodingId, 1);
  payload.copy(out, REGISTRY_HEADER_SIZE);
  return out;
}

export function readRegistryHeader(
  event: Buffer,
  table: string,
): { encodingId: number; body: Buffer } {
  if (event.length < REGISTRY_HEADER_SIZE || event[0] !== REGISTRY_PROTOCOL) {
    throw new TributaryError(
      'DESERIALIZATION_FAILED',
      `${table}: the event (${event.length} bytes${event.length > 0 ? `, first byte 0x${event[0]!.toString(16).padStart(2, '0')}` : ''}) does not start with the schema registry header (0x01 + 4-byte encoding id); was it written through the registry's serializers?`,
    );
  }
  return { encodingId: event.readInt32BE(1), body: event.subarray(REGISTRY_HEADER_SIZE) };
}

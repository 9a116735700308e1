/**
 * The Pravega segment-store wire protocol (0.13, wire version 16): pure codecs, no I/O.
 *
 * - `encodeCommand` / `encodeCommandParts` turn a {@link Command} into a frame;
 *   `FrameDecoder` turns a chunked byte stream back into commands.
 * - `encodeEventAppend` builds the writer's append frame from event payloads in one copy;
 *   `EventParser` re-frames events from segment data.
 * - `hashRoutingKey` places a routing key in [0, 1) exactly as the Java client does.
 * - `encodeStreamCutText` / `encodeStreamCutBytes` and their decoders: the Java client's stream-cut
 *   text and bytes.
 */
export * from './constants.js';
export type * from './commands/appends.js';
export type * from './commands/attributes.js';
export type * from './commands/error-replies.js';
export type * from './commands/handshake.js';
export type * from './commands/reads.js';
export type * from './commands/segment-admin.js';
export type * from './commands/segment-info.js';
export type * from './commands/storage.js';
export type * from './commands/tables.js';
export type { CommandCodec, CommandKind } from './commands/codec.js';
export type { AnyCodec, Command, CommandOf, CommandType, ErrorReply } from './command.js';
export {
  CODECS,
  codecFor,
  codecForCode,
  commandKind,
  isErrorReply,
  requestIdOf,
  typeCodeOf,
} from './command.js';
export type { FrameDecoderOptions } from './framing.js';
export {
  decodeCommand,
  decodePayload,
  encodeCommand,
  encodeCommandParts,
  FrameDecoder,
  ZERO_COPY_MIN,
} from './framing.js';
export type { EventAppend, ParsedEvent } from './events.js';
export {
  checkEventSize,
  encodeAppendBlockHeader,
  encodeEventAppend,
  EventParser,
  framedEventSize,
  frameEvents,
  MAX_APPEND_DATA,
  writeFramedEvent,
} from './events.js';
export type { Murmur128 } from './routing-hash.js';
export {
  hashRoutingKey,
  javaStringHashCode,
  murmur3x64Utf16,
  REVISION_STREAM_CLIENT_MARK,
  ROUTING_KEY_SEED,
  routingKeyHashLong,
  SEGMENT_ATTRIBUTE_SEED,
  segmentAttributeId,
} from './routing-hash.js';
export { decodeMutf8, encodeMutf8, mutf8Length } from './mutf8.js';
export type { StreamCutFields, UnboundedCut } from './stream-cut-codec.js';
export {
  decodeLegacyStreamCutText,
  decodeStreamCutBytes,
  decodeStreamCutText,
  encodeStreamCutBytes,
  encodeStreamCutText,
  isLegacyStreamCutText,
  UNBOUNDED_CUT_TEXT,
} from './stream-cut-codec.js';
export * from './segment-name.js';
export * from './uuid.js';

import { TributaryError } from '../../../errors.js';
import { EVENT_TYPE_CODE, MAX_EVENT_SIZE, WireCommandType } from '../constants.js';
import type { CommandCodec } from './codec.js';
import { optionalLong } from './codec.js';

/**
 * Appends. Event numbers are per (segment, writerId), strictly increasing, the first is 1.
 * `data` fields of append commands hold framed events (`int32 0, int32 length, payload`, see
 * `events.ts`), except `ConditionalAppend.data`, which is one event's payload (the codec frames it).
 */

export interface SetupAppend {
  readonly type: 'setupAppend';
  readonly requestId: bigint;
  readonly writerId: string;
  readonly segment: string;
  readonly delegationToken: string;
}

export interface AppendSetup {
  readonly type: 'appendSetup';
  readonly requestId: bigint;
  readonly segment: string;
  readonly writerId: string;
  /** the last event number the server has stored for this writer, or `NO_EVENT_NUMBER` (Long.MIN_VALUE) */
  readonly lastEventNumber: bigint;
}

/**
 * Opens a block of `data.length` bytes: whole framed events, optionally ending in one `PartialEvent`
 * or `Padding` frame. The frame length counts the block contents (16 + block size). The next
 * append-related command on the connection must be this writer's `AppendBlockEnd`.
 */
export interface AppendBlock {
  readonly type: 'appendBlock';
  readonly writerId: string;
  readonly data: Buffer;
}

/**
 * Closes a block (or, with no preceding `AppendBlock`, is the whole append: `data` holds the framed
 * events and `sizeOfWholeEvents` = `data.length`).
 */
export interface AppendBlockEnd {
  readonly type: 'appendBlockEnd';
  readonly writerId: string;
  /** leading bytes of the block that are whole events */
  readonly sizeOfWholeEvents: number;
  /** the rest of an event begun in the block's PartialEvent, or the framed events themselves */
  readonly data: Buffer;
  /** must be > 0 */
  readonly numEvents: number;
  readonly lastEventNumber: bigint;
  /** trailing-optional on decode: −1 when absent */
  readonly requestId: bigint;
}

/** Appends one event only if the segment's length equals `expectedOffset`. */
export interface ConditionalAppend {
  readonly type: 'conditionalAppend';
  readonly writerId: string;
  readonly eventNumber: bigint;
  readonly expectedOffset: bigint;
  /** the event's payload; it travels framed as an embedded Event */
  readonly data: Buffer;
  /** trailing-optional on decode: −1 when absent */
  readonly requestId: bigint;
}

/** A conditional append of one or more framed events. */
export interface ConditionalBlockEnd {
  readonly type: 'conditionalBlockEnd';
  readonly writerId: string;
  readonly eventNumber: bigint;
  readonly expectedOffset: bigint;
  /** framed events */
  readonly data: Buffer;
  readonly requestId: bigint;
}

/** Cumulative ack: every event ≤ `eventNumber` of this writer is durable. */
export interface DataAppended {
  readonly type: 'dataAppended';
  readonly writerId: string;
  readonly eventNumber: bigint;
  /** trailing-optional on decode: −1 when absent */
  readonly previousEventNumber: bigint;
  /** trailing-optional on decode: −1 when absent */
  readonly requestId: bigint;
  /** trailing-optional on decode: −1 when absent */
  readonly currentSegmentWriteOffset: bigint;
}

/** A conditional append did not match the segment length; the connection stays usable. */
export interface ConditionalCheckFailed {
  readonly type: 'conditionalCheckFailed';
  readonly writerId: string;
  readonly eventNumber: bigint;
  /** trailing-optional on decode: −1 when absent */
  readonly requestId: bigint;
}

/** Inside an append block: the first part of an event that did not fit. */
export interface PartialEvent {
  readonly type: 'partialEvent';
  readonly data: Buffer;
}

/** Zero bytes that fill the rest of a block closed early (or stand between blocks). */
export interface Padding {
  readonly type: 'padding';
  readonly length: number;
}

/** SetupAppend (1): long requestId, UUID writerId, String segment, String delegationToken */
export const setupAppendCodec: CommandCodec<SetupAppend> = {
  code: WireCommandType.SETUP_APPEND,
  type: 'setupAppend',
  name: 'SetupAppend',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.uuid(c.writerId, 'writerId');
    w.utf(c.segment, 'segment');
    w.utf(c.delegationToken, 'delegationToken');
  },
  read: (r) => ({
    type: 'setupAppend',
    requestId: r.int64('requestId'),
    writerId: r.uuid('writerId'),
    segment: r.utf('segment'),
    delegationToken: r.utf('delegationToken'),
  }),
};

/** AppendSetup (2): long requestId, String segment, UUID writerId, long lastEventNumber */
export const appendSetupCodec: CommandCodec<AppendSetup> = {
  code: WireCommandType.APPEND_SETUP,
  type: 'appendSetup',
  name: 'AppendSetup',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.uuid(c.writerId, 'writerId');
    w.int64(c.lastEventNumber, 'lastEventNumber');
  },
  read: (r) => ({
    type: 'appendSetup',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    writerId: r.uuid('writerId'),
    lastEventNumber: r.int64('lastEventNumber'),
  }),
};

/** AppendBlock (3): UUID writerId, then the block contents with no length (the rest of the frame) */
export const appendBlockCodec: CommandCodec<AppendBlock> = {
  code: WireCommandType.APPEND_BLOCK,
  type: 'appendBlock',
  name: 'AppendBlock',
  kind: 'block',
  write(w, c) {
    w.uuid(c.writerId, 'writerId');
    w.raw(c.data, 'data');
  },
  read: (r) => ({ type: 'appendBlock', writerId: r.uuid('writerId'), data: r.rest() }),
};

/**
 * AppendBlockEnd (4): UUID writerId, int sizeOfWholeEvents, int dataLength, data, int numEvents,
 * long lastEventNumber, long requestId?
 */
export const appendBlockEndCodec: CommandCodec<AppendBlockEnd> = {
  code: WireCommandType.APPEND_BLOCK_END,
  type: 'appendBlockEnd',
  name: 'AppendBlockEnd',
  kind: 'request',
  write(w, c) {
    w.uuid(c.writerId, 'writerId');
    w.int32(c.sizeOfWholeEvents, 'sizeOfWholeEvents');
    w.bytes(c.data, 'data');
    w.int32(c.numEvents, 'numEvents');
    w.int64(c.lastEventNumber, 'lastEventNumber');
    w.int64(c.requestId, 'requestId');
  },
  read: (r) => ({
    type: 'appendBlockEnd',
    writerId: r.uuid('writerId'),
    sizeOfWholeEvents: r.int32('sizeOfWholeEvents'),
    data: r.bytes('data'),
    numEvents: r.int32('numEvents'),
    lastEventNumber: r.int64('lastEventNumber'),
    requestId: optionalLong(r, 'requestId', -1n),
  }),
};

/**
 * ConditionalAppend (5): UUID writerId, long eventNumber, long expectedOffset,
 * Event (int 0, int length, payload), long requestId?
 */
export const conditionalAppendCodec: CommandCodec<ConditionalAppend> = {
  code: WireCommandType.CONDITIONAL_APPEND,
  type: 'conditionalAppend',
  name: 'ConditionalAppend',
  kind: 'request',
  write(w, c) {
    if (c.data.length > MAX_EVENT_SIZE) {
      throw new TributaryError(
        'EVENT_TOO_LARGE',
        `event of ${c.data.length} bytes exceeds the ${MAX_EVENT_SIZE}-byte limit`,
      );
    }
    w.uuid(c.writerId, 'writerId');
    w.int64(c.eventNumber, 'eventNumber');
    w.int64(c.expectedOffset, 'expectedOffset');
    w.int32(EVENT_TYPE_CODE, 'event.type');
    w.bytes(c.data, 'event');
    w.int64(c.requestId, 'requestId');
  },
  read(r) {
    const writerId = r.uuid('writerId');
    const eventNumber = r.int64('eventNumber');
    const expectedOffset = r.int64('expectedOffset');
    const eventType = r.int32('event.type');
    if (eventType !== EVENT_TYPE_CODE)
      throw r.error('event.type', `expected 0, found ${eventType}`);
    const data = r.bytes('event');
    const requestId = optionalLong(r, 'requestId', -1n);
    return { type: 'conditionalAppend', writerId, eventNumber, expectedOffset, data, requestId };
  },
};

/**
 * ConditionalBlockEnd (89): UUID writerId, long eventNumber, long expectedOffset, int dataLength,
 * data, long requestId
 */
export const conditionalBlockEndCodec: CommandCodec<ConditionalBlockEnd> = {
  code: WireCommandType.CONDITIONAL_BLOCK_END,
  type: 'conditionalBlockEnd',
  name: 'ConditionalBlockEnd',
  kind: 'request',
  write(w, c) {
    w.uuid(c.writerId, 'writerId');
    w.int64(c.eventNumber, 'eventNumber');
    w.int64(c.expectedOffset, 'expectedOffset');
    w.bytes(c.data, 'data');
    w.int64(c.requestId, 'requestId');
  },
  read: (r) => ({
    type: 'conditionalBlockEnd',
    writerId: r.uuid('writerId'),
    eventNumber: r.int64('eventNumber'),
    expectedOffset: r.int64('expectedOffset'),
    data: r.bytes('data'),
    requestId: r.int64('requestId'),
  }),
};

/**
 * DataAppended (7): UUID writerId, long eventNumber, long previousEventNumber?, long requestId?,
 * long currentSegmentWriteOffset?  (the requestId is the 4th field)
 */
export const dataAppendedCodec: CommandCodec<DataAppended> = {
  code: WireCommandType.DATA_APPENDED,
  type: 'dataAppended',
  name: 'DataAppended',
  kind: 'reply',
  write(w, c) {
    w.uuid(c.writerId, 'writerId');
    w.int64(c.eventNumber, 'eventNumber');
    w.int64(c.previousEventNumber, 'previousEventNumber');
    w.int64(c.requestId, 'requestId');
    w.int64(c.currentSegmentWriteOffset, 'currentSegmentWriteOffset');
  },
  read: (r) => ({
    type: 'dataAppended',
    writerId: r.uuid('writerId'),
    eventNumber: r.int64('eventNumber'),
    previousEventNumber: optionalLong(r, 'previousEventNumber', -1n),
    requestId: optionalLong(r, 'requestId', -1n),
    currentSegmentWriteOffset: optionalLong(r, 'currentSegmentWriteOffset', -1n),
  }),
};

/** ConditionalCheckFailed (8): UUID writerId, long eventNumber, long requestId? */
export const conditionalCheckFailedCodec: CommandCodec<ConditionalCheckFailed> = {
  code: WireCommandType.CONDITIONAL_CHECK_FAILED,
  type: 'conditionalCheckFailed',
  name: 'ConditionalCheckFailed',
  kind: 'reply',
  write(w, c) {
    w.uuid(c.writerId, 'writerId');
    w.int64(c.eventNumber, 'eventNumber');
    w.int64(c.requestId, 'requestId');
  },
  read: (r) => ({
    type: 'conditionalCheckFailed',
    writerId: r.uuid('writerId'),
    eventNumber: r.int64('eventNumber'),
    requestId: optionalLong(r, 'requestId', -1n),
  }),
};

/** PartialEvent (−2): the raw bytes, no length (the rest of the frame) */
export const partialEventCodec: CommandCodec<PartialEvent> = {
  code: WireCommandType.PARTIAL_EVENT,
  type: 'partialEvent',
  name: 'PartialEvent',
  kind: 'block',
  write(w, c) {
    w.raw(c.data, 'data');
  },
  read: (r) => ({ type: 'partialEvent', data: r.rest() }),
};

/** Padding (−1): `length` zero bytes (their values are not checked on decode, as in Java) */
export const paddingCodec: CommandCodec<Padding> = {
  code: WireCommandType.PADDING,
  type: 'padding',
  name: 'Padding',
  kind: 'block',
  write(w, c) {
    w.zeros(c.length, 'length');
  },
  read: (r) => ({ type: 'padding', length: r.rest().length }),
};

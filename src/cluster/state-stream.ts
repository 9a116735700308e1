import { createHash } from 'node:crypto';
import type { CheckpointData } from '../checkpoint/checkpoint-data.js';
import { TributaryError, errorMessage, hasErrorCode } from '../errors.js';
import type { Controller } from '../pravega/controller/controller.js';
import type { StreamId } from '../pravega/controller/types.js';
import { MAX_EVENT_SIZE } from '../pravega/protocol/constants.js';
import { frameEvents } from '../pravega/protocol/events.js';
import { segmentName } from '../pravega/protocol/segment-name.js';
import type { SegmentStore } from '../pravega/segment/segment-store.js';
import { stateStreamName } from './exchange/names.js';
import type { CompletedRecord } from './records.js';
import { isStreamHandle, stateHandlesOf, type StreamStateHandle } from './state-handles.js';

/**
 * Keyed state of a cluster checkpoint in Pravega itself (docs/scale-out.md §8): the job's state
 * stream `<scope>/_tributary-state-<job>`, one fixed segment. A worker appends its local
 * checkpoint of cluster checkpoint N (the JSON body of a checkpoint file) as framed events of at
 * most 8 MiB each — conditional appends at the segment's end, so two writers never interleave —
 * and its piece names the bytes by a {@link StreamStateHandle} (segment, offset, length,
 * SHA-256). Keyed state is stored whole in each checkpoint (no incremental pieces: they are files).
 * Retention truncates the segment below the earliest handle the latest completed checkpoint names.
 */

/** Payload bytes per event: Pravega's event limit. */
export const STATE_CHUNK_BYTES = MAX_EVENT_SIZE;
/** Conditional appends that lose to another writer before a write gives up. */
const MAX_RACES = 5;
/** One read of the state (all its chunks) taking longer fails the restore. */
const READ_TIMEOUT_MS = 60_000;

/** What the state stream needs of a Pravega client. */
export interface StateStreamClient {
  readonly controller: Pick<
    Controller,
    'createScope' | 'createStream' | 'sealStream' | 'deleteStream'
  >;
  readonly segmentStore: Pick<
    SegmentStore,
    'conditionalAppend' | 'getInfo' | 'read' | 'truncateSegment'
  >;
}

/** `<scope>/_tributary-state-<job>` */
export function stateStreamId(scope: string, jobName: string): StreamId {
  return { scope, stream: stateStreamName(jobName) };
}

/** The one segment of a job's state stream. */
export function stateSegment(scope: string, jobName: string): string {
  const id = stateStreamId(scope, jobName);
  return segmentName(id.scope, id.stream, 0n);
}

/** One job's state stream. */
export class StateStream {
  readonly id: StreamId;
  readonly segment: string;
  /** appends one after the other: a write's chunks are contiguous */
  private writing: Promise<unknown> = Promise.resolve();
  private created = false;

  constructor(
    private readonly client: StateStreamClient,
    scope: string,
    readonly jobName: string,
    private readonly chunkBytes: number = STATE_CHUNK_BYTES,
  ) {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0 || chunkBytes > MAX_EVENT_SIZE)
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `state stream chunk size must be 1..${MAX_EVENT_SIZE} bytes, got ${chunkBytes}`,
      );
    this.id = stateStreamId(scope, jobName);
    this.segment = segmentName(this.id.scope, this.id.stream, 0n);
  }

  /** Creates the stream (one fixed segment) unless it is there. */
  async open(): Promise<void> {
    if (this.created) return;
    await this.client.controller.createScope(this.id.scope);
    await this.client.controller.createStream(this.id, {
      scalingPolicy: { type: 'fixed', minSegments: 1 },
    });
    this.created = true;
  }

  /**
   * Appends `data` (a worker's local checkpoint) and returns its handle; `owned` are the
   * key-group ranges it covers.
   */
  write(
    data: CheckpointData,
    owned: readonly (readonly [number, number])[],
  ): Promise<StreamStateHandle> {
    const next = this.writing.then(() => this.append(data, owned));
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async append(
    data: CheckpointData,
    owned: readonly (readonly [number, number])[],
  ): Promise<StreamStateHandle> {
    await this.open();
    const { location: _location, ...stored } = data;
    const body = Buffer.from(JSON.stringify(stored), 'utf8');
    const chunks: Buffer[] = [];
    for (let at = 0; at < body.length || chunks.length === 0; at += this.chunkBytes)
      chunks.push(body.subarray(at, at + this.chunkBytes));
    const framed = chunks.map((c) => frameEvents([c]));
    const length = framed.reduce((n, f) => n + f.length, 0);
    const store = this.client.segmentStore;
    for (let race = 0; race < MAX_RACES; race++) {
      const start = (await store.getInfo(this.segment)).length;
      let at = start;
      let lost = false;
      for (const event of framed) {
        if (!(await this.appendAt(at, event))) {
          lost = true;
          break;
        }
        at += BigInt(event.length);
      }
      if (lost) continue;
      return {
        segment: this.segment,
        offset: Number(start),
        length,
        checkpointId: data.checkpointId,
        sha256: createHash('sha256').update(body).digest('hex'),
        bytes: body.length,
        keyGroups: owned.map(([a, b]) => [a, b] as const),
      };
    }
    throw new TributaryError(
      'CHECKPOINT_FAILED',
      `keyed state of checkpoint ${data.checkpointId}: ${MAX_RACES} appends to ${this.segment} lost to another writer (is a second worker of job ${this.jobName} running?)`,
    );
  }

  /**
   * Appends `event` at `offset`; true when it is there (also when an earlier attempt of the
   * same append landed and only its reply was lost).
   */
  private async appendAt(offset: bigint, event: Buffer): Promise<boolean> {
    const store = this.client.segmentStore;
    if (await store.conditionalAppend(this.segment, offset, event)) return true;
    const info = await store.getInfo(this.segment);
    if (info.length < offset + BigInt(event.length)) return false;
    const there = await this.readRange(offset, event.length, Date.now() + READ_TIMEOUT_MS).catch(
      () => undefined,
    );
    return there !== undefined && there.equals(event);
  }

  /** Exactly `length` bytes from `offset` (the caller checked the segment holds them). */
  private async readRange(offset: bigint, length: number, deadline: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < length) {
      const signal = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
      const r = await this.client.segmentStore.read(
        this.segment,
        offset + BigInt(got),
        length - got,
        signal,
      );
      if (r.data.length === 0) {
        if (r.endOfSegment || Date.now() >= deadline)
          throw new TributaryError(
            'STATE_CORRUPT',
            `${this.segment} ends at ${offset + BigInt(got)}, before ${offset + BigInt(length)}`,
          );
        continue;
      }
      const take = r.data.subarray(0, length - got);
      parts.push(take);
      got += take.length;
    }
    return Buffer.concat(parts, length);
  }

  /**
   * The local checkpoint a handle names, checked: the segment holds its bytes (not truncated,
   * long enough), they are whole events, and their payloads have its length and SHA-256.
   * Anything else is STATE_CORRUPT naming `what(position)`.
   */
  async read(
    handle: StreamStateHandle,
    what: (where: string) => string,
  ): Promise<{ data: CheckpointData }> {
    const where = `${handle.segment} at ${handle.offset}, ${handle.length} bytes`;
    const corrupt = (why: string, cause?: unknown): TributaryError =>
      new TributaryError('STATE_CORRUPT', `${what(where)} ${why}`, {
        details: { segment: handle.segment, offset: handle.offset, length: handle.length },
        ...(cause !== undefined ? { cause } : {}),
      });
    if (handle.segment !== this.segment)
      throw corrupt(`is not in this job's state stream ${this.id.scope}/${this.id.stream}`);
    let raw: Buffer;
    try {
      const info = await this.client.segmentStore.getInfo(this.segment);
      const offset = BigInt(handle.offset);
      if (info.startOffset > offset)
        throw corrupt(`is truncated: the segment starts at ${info.startOffset}`);
      if (info.length < offset + BigInt(handle.length))
        throw corrupt(`is missing: the segment ends at ${info.length}`);
      raw = await this.readRange(offset, handle.length, Date.now() + READ_TIMEOUT_MS);
    } catch (err) {
      if (TributaryError.is(err, 'STATE_CORRUPT')) throw err;
      if (hasErrorCode(err, 'NO_SUCH_SEGMENT', 'SEGMENT_TRUNCATED'))
        throw corrupt(`cannot be read: ${errorMessage(err)}`, err);
      throw err;
    }
    const payloads: Buffer[] = [];
    for (let at = 0; at < raw.length;) {
      if (at + 8 > raw.length || raw.readInt32BE(at) !== 0)
        throw corrupt(`holds no whole event at byte ${at}`);
      const n = raw.readInt32BE(at + 4);
      if (n < 0 || at + 8 + n > raw.length) throw corrupt(`holds a torn event at byte ${at}`);
      payloads.push(raw.subarray(at + 8, at + 8 + n));
      at += 8 + n;
    }
    const body = Buffer.concat(payloads);
    if (body.length !== handle.bytes)
      throw corrupt(`holds ${body.length} bytes of state, the checkpoint names ${handle.bytes}`);
    const sha = createHash('sha256').update(body).digest('hex');
    if (sha !== handle.sha256)
      throw corrupt(
        `is not the state the checkpoint names (SHA-256 ${sha}, named ${handle.sha256})`,
      );
    let data: CheckpointData;
    try {
      data = JSON.parse(body.toString('utf8')) as CheckpointData;
    } catch (err) {
      throw corrupt(`is not a checkpoint: ${errorMessage(err)}`, err);
    }
    if (data.checkpointId !== handle.checkpointId)
      throw corrupt(`holds checkpoint ${data.checkpointId}, not ${handle.checkpointId}`);
    return { data };
  }

  /**
   * Truncates the segment below the earliest state `completed` (the latest completed
   * checkpoint) names — never anything it names; later writes are above it.
   * @returns the new start offset, or undefined when nothing was truncated
   */
  async retain(completed: CompletedRecord): Promise<number | undefined> {
    const named = namedOffsets(completed, this.segment);
    if (named.length === 0) return undefined;
    const below = Math.min(...named);
    const info = await this.client.segmentStore.getInfo(this.segment);
    if (info.startOffset >= BigInt(below)) return undefined;
    await this.client.segmentStore.truncateSegment(this.segment, BigInt(below));
    return below;
  }

  /**
   * Seals and deletes the stream (the job ended for good). @returns whether there was one
   */
  async remove(): Promise<boolean> {
    try {
      await this.client.controller.sealStream(this.id);
    } catch (err) {
      if (hasErrorCode(err, 'STREAM_NOT_FOUND', 'SCOPE_NOT_FOUND')) return false;
      throw err;
    }
    return this.client.controller.deleteStream(this.id);
  }
}

/** Offsets of the handles in `segment` that `completed` names (carried ones too). */
function namedOffsets(completed: CompletedRecord, segment: string): number[] {
  return stateHandlesOf(completed).flatMap(({ handle }) =>
    isStreamHandle(handle) && handle.segment === segment ? [handle.offset] : [],
  );
}

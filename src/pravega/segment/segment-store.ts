/**
 * The segment store in domain terms: what a Pravega client asks of the servers that hold segment
 * data. Implemented over the wire protocol for a real cluster and directly by the embedded store.
 * Segment names are fully qualified (`scope/stream/N.#epoch.E`, table and transaction names alike);
 * delegation tokens are the implementation's business, not the caller's.
 *
 * Failures are TributaryErrors. The ones callers act on:
 * - SEGMENT_SEALED, NO_SUCH_SEGMENT, SEGMENT_TRUNCATED (details.startOffset) — normal events of a
 *   stream's life (scale, truncation, transaction commit/abort), never retryable as such;
 * - CONNECTION_CLOSED / CONNECTION_FAILED — retryable: reconnect and repeat.
 */
export interface SegmentStore {
  /**
   * Sets up appends by one writer id to one segment. The session tells, through its handlers, which
   * event numbers the store has made durable. On a retryable failure the caller opens a new
   * session with the same writer id and resends what `lastEventNumber` shows is missing.
   */
  openAppendSession(
    segment: string,
    writerId: string,
    handlers: AppendSessionHandlers,
  ): Promise<AppendSession>;

  /**
   * Appends one framed event (`[0][len][payload]`) only if the segment's length is `expectedOffset`.
   * @returns false when the length did not match (nothing written)
   */
  conditionalAppend(segment: string, expectedOffset: bigint, framedEvent: Buffer): Promise<boolean>;

  /**
   * Reads what is available from `offset` (possibly less than asked, possibly ending mid-event).
   * At the tail of an open segment it waits for data, a seal, or `signal`.
   */
  read(
    segment: string,
    offset: bigint,
    suggestedLength: number,
    signal?: AbortSignal,
  ): Promise<SegmentReadResult>;

  getInfo(segment: string): Promise<SegmentInfo>;
  createSegment(segment: string, policy?: SegmentScalePolicy): Promise<boolean>;
  /** @returns the segment's final length */
  sealSegment(segment: string): Promise<bigint>;
  truncateSegment(segment: string, offset: bigint): Promise<void>;
  /** @returns false if it did not exist */
  deleteSegment(segment: string): Promise<boolean>;
  /** Seals each source and appends its bytes atomically to the target; idempotent per source. */
  mergeSegments(target: string, sources: readonly string[]): Promise<bigint>;
  updateSegmentPolicy(segment: string, policy: SegmentScalePolicy): Promise<void>;

  /** @returns undefined when the attribute is unset */
  getAttribute(segment: string, attributeId: string): Promise<bigint | undefined>;
  /** Compare-and-set; `expected` undefined means "must be unset". @returns false if the compare failed */
  updateAttribute(
    segment: string,
    attributeId: string,
    value: bigint,
    expected: bigint | undefined,
  ): Promise<boolean>;

  /** @returns true if created, false if it already existed */
  createTableSegment(segment: string): Promise<boolean>;
  /** @returns false if it did not exist. TABLE_NOT_EMPTY when `mustBeEmpty` and it has keys. */
  deleteTableSegment(segment: string, mustBeEmpty: boolean): Promise<boolean>;
  /** One result per key, in order; undefined for a missing key. */
  tableGet(segment: string, keys: readonly Buffer[]): Promise<(TableEntry | undefined)[]>;
  /**
   * Writes entries atomically: all or none. A version of `undefined` is unconditional,
   * {@link TABLE_KEY_MUST_NOT_EXIST} requires the key to be absent, any other value must equal the
   * key's current version (TABLE_KEY_BAD_VERSION / TABLE_KEY_NOT_FOUND otherwise).
   * @returns the new version of each entry, in order
   */
  tableUpdate(segment: string, entries: readonly TableUpdate[]): Promise<bigint[]>;
  /** Removes keys atomically, with the same version rules as {@link tableUpdate}. */
  tableRemove(segment: string, keys: readonly TableKeyRef[]): Promise<void>;
  /** One page of entries; iterate until a page comes back empty. */
  tableReadEntries(
    segment: string,
    continuationToken: Buffer | undefined,
    maxCount: number,
  ): Promise<TableEntriesPage>;

  close(): Promise<void>;
}

export interface AppendSessionHandlers {
  /** Every event up to and including `eventNumber` is durable. Cumulative. */
  onAck(eventNumber: bigint, previousEventNumber: bigint): void;
  /** The session is dead; no more acks will come. */
  onFailure(error: Error): void;
}

export interface AppendSession {
  /** The last event number the store holds for this writer on this segment, undefined if none. */
  readonly lastEventNumber: bigint | undefined;
  /**
   * Queues one block of framed events (`[0][len][payload]…`, `eventCount` of them, the last numbered
   * `lastEventNumber`). Never waits for the ack: many blocks may be in flight.
   */
  append(framedEvents: Buffer, eventCount: number, lastEventNumber: bigint): void;
  /** Ends the session; pending acks are no longer reported. */
  close(): void;
}

export interface SegmentReadResult {
  readonly offset: bigint;
  readonly data: Buffer;
  readonly atTail: boolean;
  readonly endOfSegment: boolean;
}

export interface SegmentInfo {
  readonly segment: string;
  readonly sealed: boolean;
  /** last modification, epoch milliseconds */
  readonly lastModified: bigint;
  /** the write offset: bytes ever appended */
  readonly length: bigint;
  /** the truncation point */
  readonly startOffset: bigint;
}

export interface SegmentScalePolicy {
  readonly type: 'none' | 'throughput' | 'eventRate';
  readonly targetRate: number;
}

export interface TableEntry {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly version: bigint;
}

/** The version a key must have to be absent. */
export const TABLE_KEY_MUST_NOT_EXIST = -1n;

export interface TableUpdate {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly version?: bigint;
}

export interface TableKeyRef {
  readonly key: Buffer;
  readonly version?: bigint;
}

export interface TableEntriesPage {
  readonly entries: TableEntry[];
  readonly continuationToken: Buffer;
}

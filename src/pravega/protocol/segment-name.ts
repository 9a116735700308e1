import { TributaryError } from '../../errors.js';
import { uuidFromHex, uuidToHex, uuidToLongs } from './uuid.js';

/**
 * Segment names and ids, as the Pravega server has them:
 * - a segment id is `(epoch << 32) | segmentNumber`;
 * - a stream segment is named `scope/stream/<number>.#epoch.<epoch>` (the suffix is always there);
 * - a transaction segment is `<parent name, with the transaction's epoch>#transaction.<32 hex>`.
 */

const EPOCH_DELIMITER = '.#epoch.';
const TXN_DELIMITER = '#transaction.';
const NAME_RE = /^[A-Za-z0-9.-]+$/;
const INTERNAL_NAME_RE = /^_?[A-Za-z0-9.-]+$/;

export interface ParsedSegmentName {
  readonly scope: string;
  readonly stream: string;
  readonly segmentNumber: number;
  readonly epoch: number;
  readonly segmentId: bigint;
  /** set for a transaction segment */
  readonly txnId?: string;
}

export function segmentIdOf(epoch: number, segmentNumber: number): bigint {
  return (BigInt(epoch) << 32n) | BigInt(segmentNumber >>> 0);
}

export function epochOf(segmentId: bigint): number {
  return Number((segmentId >> 32n) & 0xffffffffn);
}

export function segmentNumberOf(segmentId: bigint): number {
  return Number(segmentId & 0xffffffffn);
}

export function segmentName(scope: string, stream: string, segmentId: bigint): string {
  return `${scope}/${stream}/${segmentNumberOf(segmentId)}${EPOCH_DELIMITER}${epochOf(segmentId)}`;
}

/** The epoch a transaction was created in: the top 32 bits of its UUID. */
export function txnEpochOf(txnId: string): number {
  const [msb] = uuidToLongs(txnId);
  return Number(BigInt.asUintN(64, msb) >> 32n);
}

export function transactionSegmentName(parentSegmentName: string, txnId: string): string {
  return `${parentSegmentName}${TXN_DELIMITER}${uuidToHex(txnId)}`;
}

export function parseSegmentName(name: string): ParsedSegmentName {
  let base = name;
  let txnId: string | undefined;
  const txnAt = name.indexOf(TXN_DELIMITER);
  if (txnAt >= 0) {
    base = name.slice(0, txnAt);
    txnId = uuidFromHex(name.slice(txnAt + TXN_DELIMITER.length));
  }
  const parts = base.split('/');
  const last = parts[2];
  if (parts.length !== 3 || last === undefined) {
    throw new TributaryError('ILLEGAL_ARGUMENT', `not a segment name: ${JSON.stringify(name)}`);
  }
  const epochAt = last.indexOf(EPOCH_DELIMITER);
  const numberText = epochAt >= 0 ? last.slice(0, epochAt) : last;
  const epochText = epochAt >= 0 ? last.slice(epochAt + EPOCH_DELIMITER.length) : '0';
  if (!/^\d+$/.test(numberText) || !/^\d+$/.test(epochText)) {
    throw new TributaryError('ILLEGAL_ARGUMENT', `not a segment name: ${JSON.stringify(name)}`);
  }
  const segmentNumber = Number(numberText);
  const epoch = Number(epochText);
  const parsed = {
    scope: parts[0] ?? '',
    stream: parts[1] ?? '',
    segmentNumber,
    epoch,
    segmentId: segmentIdOf(epoch, segmentNumber),
  };
  return txnId === undefined ? parsed : { ...parsed, txnId };
}

/** Validates a user scope or stream name (`[A-Za-z0-9.-]+`, internal names may start with `_`). */
export function validateName(
  kind: 'scope' | 'stream' | 'reader group' | 'reader',
  name: string,
  allowInternal = false,
): void {
  if (typeof name !== 'string') {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `a ${kind} name must be a string, got ${name === null ? 'null' : typeof name}`,
    );
  }
  const max = kind === 'scope' ? 255 : 250;
  const re = allowInternal ? INTERNAL_NAME_RE : NAME_RE;
  if (name.length === 0 || name.length > max || !re.test(name)) {
    throw new TributaryError(
      'INVALID_NAME',
      `invalid ${kind} name ${JSON.stringify(name)}: use 1-${max} characters of A-Z a-z 0-9 . -`,
    );
  }
}

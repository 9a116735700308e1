import { errorMessage } from '../errors.js';
import type { StreamId } from '../pravega/controller/types.js';
import { parseStreamCut, type StreamCut } from '../pravega/client/stream-cut.js';
import { validateName } from '../pravega/protocol/index.js';
import { usageError } from './usage-error.js';

/** Parsers of command-line arguments: each throws a usage error naming the argument and why. */

/** `scope/stream` → StreamId. */
export function parseStreamArg(text: string, what = '<scope/stream>'): StreamId {
  const parts = text.split('/');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw usageError(`${what}: expected scope/stream, got ${JSON.stringify(text)}`);
  }
  const [scope, stream] = parts as [string, string];
  checkName('scope', scope, what);
  checkName('stream', stream, what);
  return { scope, stream };
}

export function parseScopeArg(text: string, what = '<scope>'): string {
  checkName('scope', text, what);
  return text;
}

function checkName(kind: 'scope' | 'stream', name: string, what: string): void {
  try {
    validateName(kind, name);
  } catch (err) {
    throw usageError(`${what}: ${errorMessage(err)}`);
  }
}

/** A commander argument parser for a whole number in [min, max]. */
export function intOption(
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (
      !/^-?\d+$/.test(text.trim()) ||
      !Number.isSafeInteger(value) ||
      value < min ||
      value > max
    ) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `${min}..${max}`;
      throw usageError(`${name}: expected a whole number ${range}, got ${JSON.stringify(text)}`);
    }
    return value;
  };
}

/** Where `tail` starts: the head, the tail, or a stream cut in the client's text form. */
export type StartPoint =
  | { readonly kind: 'head' }
  | { readonly kind: 'tail' }
  | { readonly kind: 'cut'; readonly cut: StreamCut };

export function parseStartPoint(text: string, stream: StreamId): StartPoint {
  if (text === 'head' || text === 'tail') return { kind: text };
  let cut: StreamCut;
  try {
    cut = parseStreamCut(text);
  } catch {
    throw usageError(
      `--from: expected head, tail or a stream cut printed by tributary cut, got ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text)}`,
    );
  }
  if (cut.stream.scope !== stream.scope || cut.stream.stream !== stream.stream) {
    throw usageError(
      `--from: the cut belongs to ${cut.stream.scope}/${cut.stream.stream}, not ${stream.scope}/${stream.stream}`,
    );
  }
  return { kind: 'cut', cut };
}

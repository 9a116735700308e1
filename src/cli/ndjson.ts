import { usageError } from './usage-error.js';
import { TributaryError } from '../errors.js';

/**
 * Turning stdin into events for `tributary write`: lines split across chunks (LF or CRLF, blank
 * lines skipped), each line an event — NDJSON (validated, routing key from a field) or plain text.
 */

export type InputFormat = 'ndjson' | 'lines';

export interface LineEvent {
  /** the line's text, written as the event's UTF-8 payload */
  readonly payload: string;
  readonly routingKey: string | undefined;
}

/** Splits a stream of text chunks into complete lines; `end()` returns the last unterminated one. */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines.map(stripCr);
  }

  end(): string[] {
    const last = stripCr(this.rest);
    this.rest = '';
    return last === '' ? [] : [last];
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Checks the options once, before any input is read. */
export function checkInputOptions(format: string, keyField: string | undefined): InputFormat {
  if (format !== 'ndjson' && format !== 'lines') {
    throw usageError(`--format: expected ndjson or lines, got ${JSON.stringify(format)}`);
  }
  if (format === 'lines' && keyField !== undefined) {
    throw usageError('--key-field needs --format ndjson (plain lines have no fields)');
  }
  if (keyField !== undefined && keyField.split('.').some((p) => p === '')) {
    throw usageError(`--key-field: ${JSON.stringify(keyField)} is not a field path like a or a.b`);
  }
  return format;
}

/**
 * One input line as an event, or undefined for a blank line. Bad input (a line that is not JSON,
 * a missing or non-scalar key field) is an ILLEGAL_ARGUMENT error naming the line number.
 */
export function lineToEvent(
  line: string,
  lineNumber: number,
  format: InputFormat,
  keyField: string | undefined,
  fixedKey: string | undefined,
): LineEvent | undefined {
  if (line.trim() === '') return undefined;
  if (format === 'lines') return { payload: line, routingKey: fixedKey };
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (err) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `stdin line ${lineNumber} is not JSON (${(err as Error).message}); use --format lines for plain text`,
    );
  }
  if (keyField === undefined) return { payload: line, routingKey: fixedKey };
  let value: unknown = doc;
  for (const part of keyField.split('.')) {
    value =
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)[part]
        : undefined;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return { payload: line, routingKey: String(value) };
  }
  throw new TributaryError(
    'ILLEGAL_ARGUMENT',
    `stdin line ${lineNumber}: key field ${keyField} is ${value === undefined ? 'missing' : `not a string or number (${JSON.stringify(value)})`}`,
  );
}

/**
 * What commands print: a human table or line, or with `--json` one JSON document (or one JSON
 * object per line for streams of events). BigInts are printed as decimal strings.
 */

export interface Output {
  readonly json: boolean;
  /** a human line (not printed with --json) */
  line(text: string): void;
  /** rows as a table (human) or an array of objects (json) */
  table(columns: readonly string[], rows: readonly object[]): void;
  /** a JSON document (json) or `human()` (human) */
  result(value: unknown, human: () => void): void;
  /** one JSON object on its own line, whatever the mode */
  jsonLine(value: unknown): void;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return toJson(value);
}

/** A plain text table: a header row, then rows, columns padded to their widest cell. */
export function formatTable(columns: readonly string[], rows: readonly object[]): string {
  const cells = rows.map((row) => columns.map((c) => cell((row as Record<string, unknown>)[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const format = (values: readonly string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [format(columns.map((c) => c.toUpperCase())), ...cells.map(format)].join('\n');
}

export function createOutput(
  json: boolean,
  write = (text: string) => process.stdout.write(text),
): Output {
  return {
    json,
    line: (text) => {
      if (!json) write(`${text}\n`);
    },
    table: (columns, rows) => {
      if (json) write(`${toJson(rows)}\n`);
      else if (rows.length > 0) write(`${formatTable(columns, rows)}\n`);
    },
    result: (value, human) => {
      if (json) write(`${toJson(value)}\n`);
      else human();
    },
    jsonLine: (value) => write(`${toJson(value)}\n`),
  };
}

/** 1536 → "1.5 KiB" */
export function formatBytes(bytes: number | bigint): string {
  const n = Number(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

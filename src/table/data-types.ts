/**
 * Flink SQL type strings ↔ {@link DataType}: `INT`, `BIGINT NOT NULL`, `DECIMAL(10, 2)`,
 * `VARCHAR(20)`, `STRING`, `TIMESTAMP(3)`, `TIMESTAMP_LTZ(3)`, `TIMESTAMP(3) WITH LOCAL TIME ZONE`,
 * `ARRAY<INT>`, `MAP<STRING, INT>`, `ROW<a INT, b STRING>`, `BYTES`, `DATE`, `TIME(0)`.
 * Defaults as Flink's: DECIMAL = DECIMAL(10, 0), CHAR = CHAR(1), VARCHAR = VARCHAR(1),
 * TIMESTAMP = TIMESTAMP(6), TIME = TIME(0); STRING = VARCHAR(2147483647), BYTES likewise.
 */
import { TributaryError } from '../errors.js';
import type { DataType, TypeRoot } from './types.js';

const MAX_LENGTH = 2147483647;

const ALIASES: Record<string, TypeRoot> = {
  BOOLEAN: 'BOOLEAN',
  TINYINT: 'TINYINT',
  SMALLINT: 'SMALLINT',
  INT: 'INT',
  INTEGER: 'INT',
  BIGINT: 'BIGINT',
  FLOAT: 'FLOAT',
  DOUBLE: 'DOUBLE',
  DECIMAL: 'DECIMAL',
  DEC: 'DECIMAL',
  NUMERIC: 'DECIMAL',
  CHAR: 'CHAR',
  VARCHAR: 'VARCHAR',
  STRING: 'STRING',
  BINARY: 'BINARY',
  VARBINARY: 'VARBINARY',
  BYTES: 'BYTES',
  DATE: 'DATE',
  TIME: 'TIME',
  TIMESTAMP: 'TIMESTAMP',
  TIMESTAMP_LTZ: 'TIMESTAMP_LTZ',
  ARRAY: 'ARRAY',
  MAP: 'MAP',
  ROW: 'ROW',
};

class TypeParser {
  private pos = 0;
  private readonly tokens: string[];

  constructor(private readonly text: string) {
    this.tokens = text.match(/`(?:[^`]|``)*`|[A-Za-z_][A-Za-z_0-9]*|\d+|[<>(),]|\S/g) ?? [];
  }

  fail(why: string): never {
    throw new TributaryError('CONFIG_INVALID', `data type '${this.text}': ${why}`);
  }

  private peek(): string | undefined {
    return this.tokens[this.pos];
  }

  private next(): string {
    const t = this.tokens[this.pos++];
    if (t === undefined) this.fail('ends too early');
    return t;
  }

  private expect(token: string): void {
    const t = this.next();
    if (t.toUpperCase() !== token) this.fail(`expected '${token}', found '${t}'`);
  }

  private accept(word: string): boolean {
    if (this.peek()?.toUpperCase() === word) {
      this.pos++;
      return true;
    }
    return false;
  }

  private integer(): number {
    const t = this.next();
    if (!/^\d+$/.test(t)) this.fail(`expected a number, found '${t}'`);
    return Number(t);
  }

  private optionalPrecision(): number | undefined {
    if (this.peek() !== '(') return undefined;
    this.next();
    const p = this.integer();
    this.expect(')');
    return p;
  }

  parseAll(): DataType {
    const type = this.type();
    if (this.pos < this.tokens.length) this.fail(`unexpected '${this.peek()}'`);
    return type;
  }

  private type(): DataType {
    const word = this.next();
    const root = ALIASES[word.toUpperCase()];
    if (root === undefined) this.fail(`unknown type '${word}'`);
    let type: DataType;
    switch (root) {
      case 'DECIMAL': {
        let precision = 10;
        let scale = 0;
        if (this.peek() === '(') {
          this.next();
          precision = this.integer();
          if (this.peek() === ',') {
            this.next();
            scale = this.integer();
          }
          this.expect(')');
        }
        if (precision < 1 || precision > 38) this.fail('DECIMAL precision must be 1..38');
        if (scale > precision) this.fail('DECIMAL scale must not exceed its precision');
        type = { root, nullable: true, precision, scale };
        break;
      }
      case 'CHAR':
      case 'VARCHAR':
      case 'BINARY':
      case 'VARBINARY': {
        const precision = this.optionalPrecision() ?? 1;
        if (precision < 1) this.fail(`${root} length must be at least 1`);
        type = { root, nullable: true, precision };
        break;
      }
      case 'STRING':
      case 'BYTES':
        type = { root, nullable: true, precision: MAX_LENGTH };
        break;
      case 'TIME': {
        const precision = this.optionalPrecision() ?? 0;
        if (precision > 9) this.fail('TIME precision must be 0..9');
        type = { root, nullable: true, precision };
        break;
      }
      case 'TIMESTAMP':
      case 'TIMESTAMP_LTZ': {
        const precision = this.optionalPrecision() ?? 6;
        if (precision > 9) this.fail(`${root} precision must be 0..9`);
        let r: TypeRoot = root;
        if (root === 'TIMESTAMP' && this.accept('WITH')) {
          if (this.accept('LOCAL')) {
            this.expect('TIME');
            this.expect('ZONE');
            r = 'TIMESTAMP_LTZ';
          } else this.fail('TIMESTAMP WITH TIME ZONE is not supported (use TIMESTAMP_LTZ)');
        } else if (root === 'TIMESTAMP' && this.accept('WITHOUT')) {
          this.expect('TIME');
          this.expect('ZONE');
        }
        type = { root: r, nullable: true, precision };
        break;
      }
      case 'ARRAY': {
        this.expect('<');
        const element = this.type();
        this.expect('>');
        type = { root, nullable: true, element };
        break;
      }
      case 'MAP': {
        this.expect('<');
        const key = this.type();
        this.expect(',');
        const value = this.type();
        this.expect('>');
        type = { root, nullable: true, key, value };
        break;
      }
      case 'ROW': {
        const close = this.peek() === '(' ? ')' : '>';
        this.expect(close === ')' ? '(' : '<');
        const fields: { name: string; type: DataType }[] = [];
        while (this.peek() !== close) {
          if (fields.length > 0) this.expect(',');
          const raw = this.next();
          const name = raw.startsWith('`') ? raw.slice(1, -1).replace(/``/g, '`') : raw;
          if (!/^[A-Za-z_`]/.test(raw)) this.fail(`expected a field name, found '${raw}'`);
          if (fields.some((f) => f.name === name)) this.fail(`field '${name}' appears twice`);
          fields.push({ name, type: this.type() });
        }
        this.next();
        type = { root, nullable: true, fields };
        break;
      }
      default:
        type = { root, nullable: true };
    }
    if (this.accept('NOT')) {
      this.expect('NULL');
      type = { ...type, nullable: false };
    } else this.accept('NULL');
    return type;
  }
}

/** Parses a Flink SQL type; throws CONFIG_INVALID naming the text and what is wrong. */
export function parseDataType(text: string): DataType {
  return new TypeParser(text).parseAll();
}

function quote(name: string): string {
  return /^[A-Za-z_][A-Za-z_0-9]*$/.test(name) ? name : `\`${name.replace(/`/g, '``')}\``;
}

/** Prints a type as Flink does (`DECIMAL(10, 2) NOT NULL`, `TIMESTAMP(3) *ROWTIME*`). */
export function formatDataType(type: DataType): string {
  let s: string;
  switch (type.root) {
    case 'DECIMAL':
      s = `DECIMAL(${type.precision ?? 10}, ${type.scale ?? 0})`;
      break;
    case 'CHAR':
    case 'VARCHAR':
    case 'BINARY':
    case 'VARBINARY':
      s = `${type.root}(${type.precision ?? 1})`;
      break;
    case 'TIME':
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      s = `${type.root}(${type.precision ?? (type.root === 'TIME' ? 0 : 6)})`;
      if (type.rowtime) s += ' *ROWTIME*';
      break;
    case 'ARRAY':
      s = `ARRAY<${formatDataType(type.element as DataType)}>`;
      break;
    case 'MAP':
      s = `MAP<${formatDataType(type.key as DataType)}, ${formatDataType(type.value as DataType)}>`;
      break;
    case 'ROW':
      s = `ROW<${(type.fields ?? []).map((f) => `${quote(f.name)} ${formatDataType(f.type)}`).join(', ')}>`;
      break;
    default:
      s = type.root;
  }
  return type.nullable ? s : `${s} NOT NULL`;
}

/** The SQL subset as a small AST, built from dt-sql-parser's parse tree by `parse.ts`. */
import type { DataType, TableSchema } from '../types.js';

/** 1-based line, 0-based column, as dt-sql-parser reports them. */
export interface Pos {
  readonly line: number;
  readonly column: number;
}

export type Expr =
  | { readonly k: 'col'; readonly name: string; readonly pos: Pos }
  | {
      readonly k: 'lit';
      readonly value: unknown;
      readonly type: DataType | null;
      readonly pos: Pos;
    }
  | { readonly k: 'interval'; readonly ms: number; readonly pos: Pos }
  | { readonly k: 'unit'; readonly unit: string; readonly pos: Pos }
  | {
      readonly k: 'call';
      readonly name: string;
      readonly args: readonly Expr[];
      readonly star: boolean;
      readonly distinct: boolean;
      readonly pos: Pos;
    }
  | {
      readonly k: 'bin';
      readonly op: string;
      readonly l: Expr;
      readonly r: Expr;
      readonly pos: Pos;
    }
  | { readonly k: 'not'; readonly e: Expr; readonly pos: Pos }
  | { readonly k: 'neg'; readonly e: Expr; readonly pos: Pos }
  | {
      readonly k: 'is';
      readonly e: Expr;
      readonly what: 'NULL' | 'TRUE' | 'FALSE';
      readonly not: boolean;
      readonly pos: Pos;
    }
  | {
      readonly k: 'in';
      readonly e: Expr;
      readonly list: readonly Expr[];
      readonly not: boolean;
      readonly pos: Pos;
    }
  | {
      readonly k: 'between';
      readonly e: Expr;
      readonly lo: Expr;
      readonly hi: Expr;
      readonly not: boolean;
      readonly pos: Pos;
    }
  | {
      readonly k: 'like';
      readonly e: Expr;
      readonly pattern: Expr;
      readonly not: boolean;
      readonly similar: boolean;
      readonly pos: Pos;
    }
  | {
      readonly k: 'case';
      readonly operand: Expr | undefined;
      readonly whens: readonly { readonly when: Expr; readonly then: Expr }[];
      readonly otherwise: Expr | undefined;
      readonly pos: Pos;
    }
  | { readonly k: 'cast'; readonly e: Expr; readonly type: DataType; readonly pos: Pos };

export interface SelectItem {
  readonly kind: 'star' | 'expr';
  readonly expr?: Expr;
  readonly alias?: string;
  readonly pos: Pos;
}

export type FromItem =
  | { readonly kind: 'table'; readonly name: string; readonly pos: Pos }
  | {
      readonly kind: 'window';
      readonly fn: 'TUMBLE' | 'HOP' | 'CUMULATE';
      readonly table: string;
      readonly timeColumn: string;
      /** TUMBLE: [size]; HOP: [slide, size]; CUMULATE: [step, size] */
      readonly intervalsMs: readonly number[];
      readonly pos: Pos;
    };

export interface Select {
  readonly kind: 'select';
  readonly items: readonly SelectItem[];
  readonly from: FromItem;
  readonly where: Expr | undefined;
  readonly groupBy: readonly Expr[];
  readonly pos: Pos;
}

export type Query =
  Select | { readonly kind: 'union'; readonly inputs: readonly Query[]; readonly pos: Pos };

export type Statement =
  | {
      readonly kind: 'createTable';
      readonly name: string;
      readonly temporary: boolean;
      readonly ifNotExists: boolean;
      readonly schema: TableSchema;
      readonly options: Record<string, string>;
      readonly comment?: string;
      readonly pos: Pos;
    }
  | {
      readonly kind: 'createView';
      readonly name: string;
      readonly query: Query;
      readonly text: string;
      readonly pos: Pos;
    }
  | {
      readonly kind: 'createCatalog';
      readonly name: string;
      readonly options: Record<string, string>;
      readonly pos: Pos;
    }
  | {
      readonly kind: 'createDatabase';
      readonly name: string;
      readonly ifNotExists: boolean;
      readonly pos: Pos;
    }
  | {
      readonly kind: 'dropTable';
      readonly name: string;
      readonly ifExists: boolean;
      readonly pos: Pos;
    }
  | { readonly kind: 'useCatalog'; readonly name: string; readonly pos: Pos }
  | { readonly kind: 'useDatabase'; readonly name: string; readonly pos: Pos }
  | { readonly kind: 'show'; readonly what: 'CATALOGS' | 'DATABASES' | 'TABLES'; readonly pos: Pos }
  | {
      readonly kind: 'insert';
      readonly table: string;
      readonly query: Query;
      readonly text: string;
      readonly pos: Pos;
    }
  | {
      readonly kind: 'statementSet';
      readonly inserts: readonly Extract<Statement, { kind: 'insert' }>[];
      readonly pos: Pos;
    }
  | { readonly kind: 'explain'; readonly statement: Statement; readonly pos: Pos };

import { stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TributaryError, errorMessage } from '../errors.js';
import type { ClientConfig } from '../pravega/client/pravega-client.js';
import type { JobOptionsInput } from '../runtime/job-options.js';
import type { StreamEnvironment } from '../runtime/stream-environment.js';
import { usageError } from './usage-error.js';

/**
 * The contract of a job module run by `tributary run <job.ts|job.js> [args...]`:
 *
 * ```ts
 * import type { JobContext, JobOptionsInput, StreamEnvironment } from 'tributary';
 *
 * export const name = 'clean-orders';                          // optional: default the file name
 * export const options: JobOptionsInput = { parallelism: 2 };  // optional (or a function of ctx)
 *
 * export default function build(env: StreamEnvironment, ctx: JobContext): void {
 *   env.fromSource(PravegaSource.forStream('shop/orders').json()).sinkTo(...);
 * }
 * ```
 *
 * The CLI creates the environment (the module's options, with the CLI's Pravega connection and a
 * checkpoint directory filled in), calls the default export to build the pipeline (it may be
 * async), then executes the job under its name — the module never calls `execute` itself.
 */

export interface JobContext {
  /** the job's name (reader groups and checkpoints are named after it) */
  readonly name: string;
  /** the Pravega connection the CLI chose (--controller, TRIBUTARY_CONTROLLER or the default) */
  readonly pravega: ClientConfig;
  /** where the job's checkpoints go */
  readonly checkpointDir: string;
  /** the arguments after the job file on the command line */
  readonly args: readonly string[];
}

export type JobBuilder = (env: StreamEnvironment, ctx: JobContext) => void | Promise<void>;

export interface JobModule {
  readonly build: JobBuilder;
  readonly name: string | undefined;
  readonly options: (ctx: Omit<JobContext, 'checkpointDir'>) => JobOptionsInput;
}

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);
const JS_EXTENSIONS = new Set(['.js', '.mjs', '.cjs']);

export function isTypeScriptJob(path: string): boolean {
  return TS_EXTENSIONS.has(extname(path));
}

/** Checks that the job file exists and has an extension `run` can load. */
export async function checkJobFile(path: string): Promise<string> {
  const absolute = resolve(path);
  const ext = extname(absolute);
  if (!TS_EXTENSIONS.has(ext) && !JS_EXTENSIONS.has(ext)) {
    throw usageError(`<job>: ${path} is not a .ts or .js module`);
  }
  const info = await stat(absolute).catch(() => undefined);
  if (!info?.isFile()) throw usageError(`<job>: ${path} does not exist`);
  return absolute;
}

/** The file name without its extension: the default job name. */
export function defaultJobName(path: string): string {
  return basename(path, extname(path));
}

export async function loadJobModule(path: string): Promise<JobModule> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new TributaryError('CONFIG_INVALID', `job ${path} failed to load: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return validateJobModule(loaded, path);
}

/** Checks the module's exports against the contract (pure). */
export function validateJobModule(loaded: Record<string, unknown>, path: string): JobModule {
  const build = loaded['default'];
  if (typeof build !== 'function') {
    throw new TributaryError(
      'CONFIG_INVALID',
      `job ${path}: the default export must be a function (env, ctx) => void that builds the pipeline, found ${describe(build)}`,
    );
  }
  const name = loaded['name'];
  if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `job ${path}: export 'name' must be a non-empty string, found ${describe(name)}`,
    );
  }
  const options = loaded['options'];
  if (
    options !== undefined &&
    typeof options !== 'function' &&
    (typeof options !== 'object' || options === null || Array.isArray(options))
  ) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `job ${path}: export 'options' must be job options or a function (ctx) => job options, found ${describe(options)}`,
    );
  }
  return {
    build: build as JobBuilder,
    name: name,
    options: (ctx) =>
      typeof options === 'function'
        ? ((options as (c: typeof ctx) => JobOptionsInput)(ctx) ?? {})
        : ((options as JobOptionsInput | undefined) ?? {}),
  };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

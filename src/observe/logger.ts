import { pino, type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { z } from 'zod';
import { TributaryError } from '../errors.js';
import { Redactor } from './redact.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Environment variable read when no level is given. */
export const LOG_LEVEL_ENV = 'TRIBUTARY_LOG_LEVEL';

export interface LogOptions {
  /** Default: `$TRIBUTARY_LOG_LEVEL`, else `info`. */
  readonly level?: LogLevel;
  /**
   * Human-readable lines instead of JSON. Default: pretty when writing to stdout and stdout is
   * a terminal, JSON otherwise.
   */
  readonly pretty?: boolean;
  /** Where the lines go (default stdout). */
  readonly destination?: DestinationStream;
  /** More values that must never appear in a log line (tokens, passwords). */
  readonly secrets?: readonly string[];
}

const levelSchema = z.enum(LOG_LEVELS);

/** The level from the option, else from `$TRIBUTARY_LOG_LEVEL`, else `info`; bad values throw. */
export function resolveLogLevel(
  level: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): LogLevel {
  const [value, from] =
    level !== undefined ? [level, 'log.level'] : [env[LOG_LEVEL_ENV], LOG_LEVEL_ENV];
  if (value === undefined || value === '') return 'info';
  const parsed = levelSchema.safeParse(value.toLowerCase());
  if (!parsed.success) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `${from}: "${value}" is not a log level (one of ${LOG_LEVELS.join(', ')})`,
      { details: { issues: [{ key: from, reason: 'not a log level' }] } },
    );
  }
  return parsed.data;
}

/**
 * A pino logger whose every line passes through a {@link Redactor}: values under secret-looking
 * keys (password, token, key, credentials, ...), the given secret values, URL passwords and
 * bearer tokens never reach the output.
 */
export function createLogger(options: LogOptions = {}, redactor = new Redactor()): Logger {
  const level = resolveLogLevel(options.level);
  const redact = redactor.withSecrets(options.secrets ?? []);
  const toStdout = options.destination === undefined;
  const pretty = options.pretty ?? (toStdout && process.stdout.isTTY === true);
  const destination: DestinationStream = pretty
    ? pinoPretty({
        sync: true,
        colorize: toStdout && process.stdout.isTTY === true,
        ...(toStdout ? {} : { destination: options.destination as never }),
        ignore: 'pid,hostname',
        translateTime: 'SYS:HH:MM:ss.l',
      })
    : (options.destination ?? pino.destination({ dest: 1, sync: true }));
  return pino(
    {
      level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: {
        logMethod(args, method) {
          const clean = (args as unknown[]).map((a) => redact.value(a));
          method.apply(this, clean as Parameters<typeof method>);
        },
      },
      formatters: {
        level: (label) => ({ level: label }),
      },
    },
    destination,
  );
}

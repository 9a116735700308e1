import cliProgress from 'cli-progress';

/**
 * A progress bar on stderr for long work with a known total — only when a person watches (stderr
 * is a terminal, `when` holds: e.g. stdout is one too) and not in --json mode; otherwise every
 * call does nothing.
 */
export interface Progress {
  update(done: number): void;
  stop(): void;
}

const NONE: Progress = { update: () => undefined, stop: () => undefined };

export function startProgress(
  label: string,
  total: number | undefined,
  options: { json: boolean; when: boolean; format?: (n: number) => string },
): Progress {
  if (options.json || !options.when || !process.stderr.isTTY) return NONE;
  if (total === undefined || total <= 0) return NONE;
  const format = options.format ?? String;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% {shown}/{totalShown}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { shown: format(0), totalShown: format(total) });
  return {
    update: (done) => bar.update(Math.min(done, total), { shown: format(done) }),
    stop: () => bar.stop(),
  };
}

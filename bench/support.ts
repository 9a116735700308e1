import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRealPravega, type PravegaServer } from '../tools/pravega-server/index.js';

/**
 * Where a benchmark runs: `--uri tcp://…` (an existing server), `--uri embedded:<dir>`, or by
 * default a real Pravega server started here for the run.
 */
export async function benchTarget(
  argv: string[],
): Promise<{ uri: string; stop: () => Promise<void>; label: string }> {
  const i = argv.indexOf('--uri');
  const given = i >= 0 ? argv[i + 1] : undefined;
  if (given === 'embedded') {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-'));
    return {
      uri: `embedded:${dir}`,
      stop: async () => undefined,
      label: `embedded store (${dir})`,
    };
  }
  if (given) return { uri: given, stop: async () => undefined, label: given };
  const server: PravegaServer = await startRealPravega({
    heapMb: 8192,
    runtime: 'jvm',
    log: (l) => console.log(`[pravega] ${l}`),
  });
  return {
    uri: server.controllerUri,
    stop: () => server.stop(),
    label: `real Pravega ${server.version} (local JVM)`,
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function tempDir(
  prefix: string,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `tributary-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Records of every committed (visible, non-dot) file of a file-sink directory. */
export async function readCommitted<T>(dir: string): Promise<T[]> {
  const out: T[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (name.startsWith('.')) continue;
    const text = await readFile(join(dir, name), 'utf8');
    for (const line of text.split('\n')) if (line !== '') out.push(JSON.parse(line) as T);
  }
  return out;
}

/** In-progress (hidden) files left in a file-sink directory. */
export async function inProgressFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('.'));
}

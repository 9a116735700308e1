import { open } from 'node:fs/promises';

/**
 * Makes a rename or a new file in `dir` durable by fsyncing the directory. Some platforms cannot
 * fsync a directory; there the rename is still atomic, so that failure is ignored.
 */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // not supported here: the rename itself stays atomic
  } finally {
    await handle.close();
  }
}

/**
 * Atomic file writes for everything a run must not lose half-written: checkpoints, logs,
 * reports, figures.
 *
 * @module
 */

/**
 * Writes a file atomically: to a temporary name in the same folder, then renamed, so a
 * crash never leaves a half-written file under `path`.
 *
 * @param path destination
 * @param bytes contents
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    try {
      let at = 0;
      while (at < bytes.length) at += await f.write(bytes.subarray(at));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    // A full disk or a failed rename: drop the partial temp file, keep `path` as it was.
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

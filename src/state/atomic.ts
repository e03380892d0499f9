import { copyFile, mkdir, open, rename } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';

/**
 * Replaces a file so that a reader (or a process started after a crash, even a power cut) finds
 * either the old text or the new one, never a mix: the text goes to a temp file beside it, is
 * fsynced, and is renamed over the file. With `backup`, the previous version is kept as <file>.bak.
 * The one way the state files and the sandbox world reach the disk.
 */
export async function writeFileAtomically(file: string, text: string, { backup = false } = {}): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (backup) {
    await copyFile(file, `${file}.bak`).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  await rename(temp, file);
}

import { copyFile, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { isAlive } from './lock.js';

/**
 * Replaces a file so that a reader (or a process started after a crash, even a power cut) finds
 * either the old text or the new one, never a mix: the text goes to a temp file beside it, is
 * fsynced, and is renamed over the file. With `backup`, the previous version is kept as <file>.bak.
 * The one way the state files and the sandbox world reach the disk.
 */
export async function writeFileAtomically(file: string, text: string, { backup = false } = {}): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`; // LEFT_BY_A_WRITER reads it back
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

/**
 * What a writer leaves beside its target while writing, named with its PID: our temp files
 * (`<file>.<pid>.<uuid>.tmp`), and the lock files written aside before they are linked into
 * place (`<name>.lock.<pid>`, the sandbox account's `<name>.lock.<pid>.<n>`).
 */
const LEFT_BY_A_WRITER = [
  /^.+\.(\d+)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/,
  /^.+\.lock\.(?:stale\.)?(\d+)(?:\.\d+)?$/,
];

/**
 * Removes what writers killed mid-write (kill -9, a power cut) left in `dir`; a live process's
 * files are never touched, since it is about to rename or link them into place. Called under the
 * deployment's lock, so only another deployment's sandbox calls write beside us, and their PIDs
 * are alive. Answers the names removed.
 */
export async function removeDeadTemps(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const removed: string[] = [];
  for (const name of names) {
    const pid = LEFT_BY_A_WRITER.map((pattern) => pattern.exec(name)?.[1]).find(Boolean);
    if (pid === undefined || isAlive({ pid: Number(pid), host: hostname() })) continue;
    await unlink(join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // another run cleaned it first
    });
    removed.push(name);
  }
  return removed;
}

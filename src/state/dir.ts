import { mkdtemp, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { badInput } from '../errors.js';

/**
 * Refuses a state directory the run could not use, before anything is made: '' (which would put
 * the files in the working directory), a path that is a file or lies under one, and, when the
 * run will write, one it cannot create files in. Writability is tried rather than read from the
 * mode bits: root passes every mode check, yet cannot write to a read-only mount or to /sys.
 */
export async function checkStateDir(dir: string, { writes }: { writes: boolean }): Promise<void> {
  if (dir.trim() === '') {
    throw badInput('--state-dir is empty', "give a directory, or drop --state-dir for the default './.gitlab-aws'");
  }
  const existing = await nearestExisting(dir);
  if (!existing.isDirectory) {
    throw badInput(
      existing.path === resolve(dir)
        ? `--state-dir ${dir} is a file, not a directory`
        : `--state-dir ${dir} lies under ${existing.path}, which is a file`,
      'give a directory (it is created if missing)',
    );
  }
  if (!writes) return;
  try {
    // A directory made and removed at once: the state directory is left exactly as it was.
    await rmdir(await mkdtemp(join(existing.path, '.gitlab-aws-probe-')));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw badInput(
      `cannot write to --state-dir ${dir} (${code} creating a file in ${existing.path})`,
      'give a directory you can write to, or fix its permissions',
    );
  }
}

/** The path itself, or its closest parent that exists, and whether that is a directory. */
async function nearestExisting(dir: string): Promise<{ path: string; isDirectory: boolean }> {
  let path = resolve(dir);
  for (;;) {
    try {
      return { path, isDirectory: (await stat(path)).isDirectory() };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOTDIR: a parent is a file; keep climbing until it is found.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw badInput(`cannot use --state-dir ${dir} (${code ?? 'error'} on ${path})`, 'give a directory you can read and write');
      }
      const parent = dirname(path);
      if (parent === path) return { path, isDirectory: true };
      path = parent;
    }
  }
}

import { rm } from 'node:fs/promises';
import { afterEach } from 'vitest';
import type { AwsSession } from '../src/aws/clients.js';
import { publicParameterValue, UBUNTU_PARAMETER } from '../src/sandbox/images.js';
import { tempDir } from './helpers.js';

/**
 * State directories and sandbox sessions for the tests of one file: each session is closed and
 * each directory removed after every test.
 */
export function sandboxFixtures(prefix: string) {
  const dirs: string[] = [];
  const sessions: AwsSession[] = [];
  afterEach(async () => {
    // One at a time: two sandboxes of one process saving into the same directory would race.
    for (const session of sessions.splice(0)) await session.close();
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  return {
    async stateDir(): Promise<string> {
      const dir = await tempDir(prefix);
      dirs.push(dir);
      return dir;
    },
    /** Closes `session` after the test. */
    keep<T extends AwsSession>(session: T): T {
      sessions.push(session);
      return session;
    },
    /** For a session the test closed itself (closing it twice would save its world twice). */
    closed(session: AwsSession): void {
      sessions.splice(sessions.indexOf(session), 1);
    },
  };
}

/** The error `promise` rejects with; a promise that resolves fails the test. */
export async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Canonical's Ubuntu 24.04 image in a region of the sandbox (what its public SSM parameter answers). */
export function ubuntuImage(region: string): string {
  return publicParameterValue(region, UBUNTU_PARAMETER)!;
}

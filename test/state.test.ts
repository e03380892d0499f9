import { spawn } from 'node:child_process';
import { open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildInstallConfig } from '../src/config/schema.js';
import { ExitError } from '../src/errors.js';
import { removeDeadTemps } from '../src/state/atomic.js';
import { checkStateDir } from '../src/state/dir.js';
import { DeploymentLock } from '../src/state/lock.js';
import type { ResourceRecord, StateDoc } from '../src/state/schema.js';
import { newStateDoc, readState, statePaths, StateStore } from '../src/state/store.js';
import { emptyWorld, saveWorld } from '../src/sandbox/world.js';
import { tempDir } from './helpers.js';

const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function stateDir(): Promise<string> {
  const dir = await tempDir('gitlab-aws-state-');
  dirs.push(dir);
  return dir;
}

function doc(): StateDoc {
  return newStateDoc({
    deployment: 'gitlab',
    installId: 'install-test-1',
    sandbox: true,
    writtenBy: 'gitlab-aws test',
    config: buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2' }),
  });
}

function resource(n: number): ResourceRecord {
  return { type: 'AWS::EC2::Subnet', id: `subnet-${String(n).padStart(4, '0')}`, step: 'subnets', recordedAt: new Date().toISOString() };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure, but the call succeeded');
}

function expectExit2(err: unknown, text: string) {
  expect(err).toBeInstanceOf(ExitError);
  expect((err as ExitError).code).toBe(2);
  expect((err as ExitError).message).toContain(text);
}

describe('StateStore', () => {
  it('writes a private, valid state file and keeps the previous version as .bak', async () => {
    const { file, backup } = statePaths(await stateDir(), 'gitlab');
    const store = await StateStore.create(file, doc());
    const first = await readFile(file, 'utf8');

    await store.record(resource(1));

    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // The backup holds the same facts as the file, so it must be just as private.
    expect((await stat(backup)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8')).resources.map((r: ResourceRecord) => r.id)).toEqual(['subnet-0001']);
    expect(await readFile(backup, 'utf8')).toBe(first);
    expect((await readState(file))?.resources).toHaveLength(1);
  });

  it('records every resource of 50 concurrent steps exactly once', async () => {
    const { file } = statePaths(await stateDir(), 'gitlab');
    const store = await StateStore.create(file, doc());
    const ids = Array.from({ length: 50 }, (_, i) => resource(i));

    // Each resource is reported twice, as a retried step would.
    await Promise.all([...ids, ...ids].map((r) => store.record(r)));
    await store.flushed();

    const saved = (await readState(file))!.resources.map((r) => r.id).sort();
    expect(saved).toEqual(ids.map((r) => r.id).sort());
  });

  it('leaves no temporary files behind', async () => {
    const dir = await stateDir();
    const { file } = statePaths(dir, 'gitlab');
    const store = await StateStore.create(file, doc());
    for (let i = 0; i < 5; i++) void store.record(resource(i));
    await store.forget('AWS::EC2::Subnet', 'subnet-0002');
    await store.flushed();

    expect((await readdir(dir)).sort()).toEqual(['gitlab.json', 'gitlab.json.bak']);
    expect((await readState(file))!.resources.map((r) => r.id)).toEqual(['subnet-0000', 'subnet-0001', 'subnet-0003', 'subnet-0004']);
  });
});

describe('every file that must survive a crash is written the same durable way', () => {
  // The state files and the sandbox world: a crash (kill -9, a power cut) right after a save
  // must find the new text on disk, so each write reaches the disk (fsync) before the rename.
  it.each([
    ['a state file', async (file: string) => StateStore.create(file, doc())],
    ['the sandbox world', async (file: string) => saveWorld(file, JSON.stringify(emptyWorld(0)))],
  ])('%s: fsynced, renamed into place, no temporary file left', async (_label, write) => {
    const dir = await stateDir();
    const probe = await open(join(dir, 'probe'), 'w');
    const sync = vi.spyOn(Object.getPrototypeOf(probe) as { sync(): Promise<void> }, 'sync');
    await probe.close();
    const file = join(dir, 'thing.json');

    await write(file);

    expect(sync).toHaveBeenCalledTimes(1);
    expect(JSON.parse(await readFile(file, 'utf8'))).toBeTruthy();
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    sync.mockRestore();
  });
});

describe('readState', () => {
  async function refused(content: string) {
    const { file } = statePaths(await stateDir(), 'gitlab');
    await writeFile(file, content, { mode: 0o600 });
    const err = await rejection(readState(file));
    // A refused file is evidence of what exists in AWS: it must survive untouched.
    expect(await readFile(file, 'utf8')).toBe(content);
    return err;
  }

  it('returns undefined when there is no state file', async () => {
    expect(await readState(join(await stateDir(), 'gitlab.json'))).toBeUndefined();
  });

  it('refuses a file that is not JSON as corrupted, exit code 2', async () => {
    expectExit2(await refused('{"schemaVersion": 1, "deployment": "gitl\u0000\u0007garbage'), 'corrupted');
  });

  it('refuses a file written by a newer gitlab-aws, exit code 2', async () => {
    const newer = JSON.stringify({ ...doc(), schemaVersion: 99 }, null, 2);
    expectExit2(await refused(newer), 'newer');
  });

  it('refuses valid JSON that does not match the schema as corrupted, exit code 2', async () => {
    const { steps: _steps, ...withoutSteps } = doc();
    expectExit2(await refused(JSON.stringify(withoutSteps)), 'corrupted');
  });
});

describe('DeploymentLock', () => {
  async function lockPath() {
    return statePaths(await stateDir(), 'gitlab').lock;
  }

  async function deadPid(): Promise<number> {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => child.on('exit', resolve));
    return child.pid!;
  }

  it('lets one run hold the lock and tells a second which PID holds it', async () => {
    const path = await lockPath();
    const onStale = vi.fn();
    const held = await DeploymentLock.acquire(path, 'install', onStale);

    expectExit2(await rejection(DeploymentLock.acquire(path, 'teardown', onStale)), `locked by PID ${process.pid}`);
    expect(onStale).not.toHaveBeenCalled();

    await held.release();
    const next = await DeploymentLock.acquire(path, 'teardown', onStale);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid, command: 'teardown' });
    await next.release();
  });

  it('takes over a lock left by a dead process on this host and reports it', async () => {
    const path = await lockPath();
    const pid = await deadPid();
    const stale = { pid, host: hostname(), command: 'install', startedAt: '2024-01-01T00:00:00.000Z' };
    await writeFile(path, JSON.stringify(stale));
    const onStale = vi.fn();

    const lock = await DeploymentLock.acquire(path, 'install', onStale);

    expect(onStale).toHaveBeenCalledTimes(1);
    expect(onStale.mock.calls[0]?.[0]).toMatchObject({ pid });
    expect(JSON.parse(await readFile(path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('does not take over a lock held on another host, whose process it cannot check', async () => {
    const path = await lockPath();
    const pid = await deadPid();
    await writeFile(path, JSON.stringify({ pid, host: `not-${hostname()}`, command: 'install', startedAt: '2024-01-01T00:00:00.000Z' }));
    const onStale = vi.fn();

    expectExit2(await rejection(DeploymentLock.acquire(path, 'install', onStale)), `locked by PID ${pid}`);
    expect(onStale).not.toHaveBeenCalled();
  });

  it.each([
    ['{}', '{}'],
    ['garbage', 'not json'],
    ['empty (a power cut after the link)', ''],
    ['a PID that is not a number', '{"pid":"12","host":"h","command":"install","startedAt":""}'],
  ])('refuses a lock that names no process (%s): never "PID undefined", says how to remove it', async (_label, text) => {
    const path = await lockPath();
    await writeFile(path, text);
    const onStale = vi.fn();
    const err = (await rejection(DeploymentLock.acquire(path, 'install', onStale))) as ExitError;
    expectExit2(err, `the lock file ${path} is unreadable (it names no process)`);
    expect(err.message).not.toMatch(/undefined/);
    expect(err.hint).toBe(`if no gitlab-aws run is using this deployment, delete ${path} and run the command again`);
    expect(onStale).not.toHaveBeenCalled();
    expect(await readFile(path, 'utf8')).toBe(text); // left for the operator to judge
  });
});

describe('temp files of killed writers', () => {
  const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';

  it("temp and lock files written aside are removed when their writer is dead; a live writer's, and anything else, stay", async () => {
    const dir = await stateDir();
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => child.on('exit', resolve));
    const dead = [
      `gitlab.json.${child.pid}.${uuid}.tmp`,
      `sandbox-world.json.${child.pid}.${uuid}.tmp`,
      `gitlab.lock.${child.pid}`,
      `sandbox-world.lock.${child.pid}.3`,
      `sandbox-world.lock.stale.${child.pid}.1`,
    ];
    const kept = [
      `gitlab.json.${process.pid}.${uuid}.tmp`,
      `gitlab.lock.${process.pid}`,
      'gitlab.json',
      'gitlab.lock',
      'notes.tmp',
      `gitlab.json.${child.pid}.tmp`,
    ];
    for (const name of [...dead, ...kept]) await writeFile(join(dir, name), '{}');

    expect((await removeDeadTemps(dir)).sort()).toEqual([...dead].sort());
    expect((await readdir(dir)).sort()).toEqual([...kept].sort());
  });

  it('a missing state directory has none', async () => {
    expect(await removeDeadTemps(join(await stateDir(), 'absent'))).toEqual([]);
  });
});

describe('the state directory', () => {
  it('may be missing: it is created on the first write, and checking it creates nothing', async () => {
    const dir = await stateDir();
    await checkStateDir(join(dir, 'a', 'b'), { writes: true });
    expect(await readdir(dir)).toEqual([]);
  });

  it('is not checked for writing when the command only reads', async () => {
    await checkStateDir('/sys/gitlab-aws-state', { writes: false });
    expectExit2(await rejection(checkStateDir('/sys/gitlab-aws-state', { writes: true })), 'cannot write to --state-dir');
  });
});

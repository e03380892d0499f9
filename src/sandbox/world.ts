import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { emptySlices, type WorldSlices } from './services.js';

/**
 * Everything the sandbox's AWS account holds. Plain JSON, persisted beside the state files so a
 * new process can resume or tear down what an earlier one built (or crashed while building).
 * Each service's part (world.ec2, world.iam, ...) is typed and emptied by its plug-in.
 */
export type World = WorldCore & WorldSlices;

interface WorldCore {
  version: 1;
  accountId: string;
  /** Sandbox clock reading (ms) when last saved: the sandbox's AWS stands still between runs. */
  simNow: number;
  /** Generator state for IDs, so runs are reproducible. */
  rng: number;
  /** Successful mutating calls ever made in this world (a crash sweep iterates over these). */
  mutations: number;
  /** ClientToken -> what the first call with it created. */
  tokens: Record<string, { operation: string; fingerprint: string; resultId: string }>;
  /** Resource ID -> how many more by-ID lookups still miss it (eventual consistency). */
  lag: Record<string, number>;
}

export function emptyWorld(now: number): World {
  return {
    version: 1,
    accountId: '123456789012',
    simNow: now,
    rng: 0x9e3779b9,
    mutations: 0,
    ...emptySlices(),
    tokens: {},
    lag: {},
  };
}

export function worldFile(stateDir: string): string {
  return join(stateDir, 'sandbox-world.json');
}

export async function loadWorld(file: string): Promise<World | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as World;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`sandbox world ${file} is unreadable (${(err as Error).message}); delete it to start an empty sandbox`);
  }
}

export async function saveWorld(file: string, text: string): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}

/** mulberry32: tiny, fast and good enough for IDs and fault dice; its state lives in the world. */
export function nextRandom(world: World): number {
  let t = (world.rng = (world.rng + 0x6d2b79f5) | 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export function newId(world: World, prefix: string, length = 17): string {
  let id = '';
  while (id.length < length) id += Math.floor(nextRandom(world) * 16).toString(16);
  return `${prefix}-${id}`;
}

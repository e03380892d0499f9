import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { badInput } from '../errors.js';
import { writeFileAtomically } from '../state/atomic.js';
import { step } from './random.js';
import { emptySlices, type WorldSlices } from './services.js';

/**
 * Everything the sandbox's AWS account holds. Plain JSON, persisted beside the state files so a
 * new process can resume or tear down what an earlier one built (or crashed while building).
 * Each service's part (world.ec2, world.iam, ...) is typed and emptied by its plug-in.
 */
export type World = WorldCore & WorldSlices;

interface WorldCore {
  version: 1;
  /** Bumped by every save, so a process sharing the account sees that another one changed it. */
  revision: number;
  accountId: string;
  /** Digest of the seed file the account was created from, if any (see seed.ts). */
  seed?: string;
  /** Sandbox clock reading (ms) when last saved: the sandbox's AWS stands still between runs. */
  simNow: number;
  /** Generator state for IDs, so runs are reproducible. */
  rng: number;
  /** Successful mutating calls ever made in this world (a crash sweep iterates over these). */
  mutations: number;
  /** ClientToken -> what the first call with it created. */
  tokens: Record<string, { operation: string; fingerprint: string; resultId: string }>;
}

export function emptyWorld(now: number): World {
  return {
    version: 1,
    revision: 0,
    accountId: '123456789012',
    simNow: now,
    rng: 0x9e3779b9,
    mutations: 0,
    ...emptySlices(),
    tokens: {},
  };
}

export function worldFile(stateDir: string): string {
  return join(stateDir, 'sandbox-world.json');
}

/**
 * What a world file must hold to be used: the account-wide fields exactly, each service's part
 * as an object of records (its own module shapes the records). Unknown top-level parts pass
 * through untouched, so a newer service's part survives an older reader's save.
 */
const record = z.record(z.string(), z.looseObject({}));
const worldSchema = z.looseObject({
  version: z.literal(1),
  revision: z.number().int().nonnegative().default(0),
  accountId: z.string().regex(/^\d{12}$/),
  seed: z.string().optional(),
  simNow: z.number().finite(),
  rng: z.number().int(),
  mutations: z.number().int().nonnegative(),
  ec2: record,
  iam: z.looseObject({ policies: record, roles: record, instanceProfiles: record }),
  s3: z.looseObject({ buckets: record }),
  ssm: z.looseObject({ parameters: record }),
  tokens: z.record(z.string(), z.object({ operation: z.string(), fingerprint: z.string(), resultId: z.string() })),
});

/** The world kept in a file, or undefined when there is none yet (a new, empty account). */
export async function loadWorld(file: string): Promise<World | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unusable(file, (err as Error).message);
  }
  return parseWorld(file, text);
}

export function parseWorld(file: string, text: string): World {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw unusable(file, 'it is not valid JSON');
  }
  const parsed = worldSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw unusable(file, `${issue.path.join('.') || 'document'}: ${issue.message}`);
  }
  // A world saved before a service existed gets that service's empty part.
  return { ...emptySlices(), ...parsed.data } as unknown as World;
}

function unusable(file: string, why: string) {
  return badInput(`sandbox world ${file} is unusable (${why})`, `delete it to start an empty sandbox account`);
}

export function saveWorld(file: string, text: string): Promise<void> {
  return writeFileAtomically(file, text);
}

/** The next number of the world's ID generator (its state is in the world, shared by all processes). */
export function nextRandom(world: World): number {
  const next = step(world.rng);
  world.rng = next.state;
  return next.value;
}

export function newId(world: World, prefix: string, length = 17): string {
  let id = '';
  while (id.length < length) id += Math.floor(nextRandom(world) * 16).toString(16);
  return `${prefix}-${id}`;
}

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { GUIDE_REGION } from '../config/regions.js';
import { badInput } from '../errors.js';
import type { Operation } from './core.js';
import { makeContext } from './context.js';
import type { World } from './world.js';

/**
 * A seed: what the sandbox account holds before gitlab-aws first touches it, written as the AWS
 * calls that made it and run through the sandbox's own operations (so its rules apply: a seeded
 * subnet needs a seeded VPC, a taken bucket name is taken). For example:
 *
 *   { "calls": [
 *     { "service": "ec2", "call": "CreateVpc", "input": { "CidrBlock": "10.9.0.0/16" }, "as": "theirVpc" },
 *     { "service": "ec2", "call": "CreateSecurityGroup",
 *       "input": { "GroupName": "theirs", "Description": "not ours", "VpcId": "${theirVpc.Vpc.VpcId}" } },
 *     { "service": "s3", "call": "CreateBucket", "input": { "Bucket": "taken-name" }, "account": "210987654321" }
 *   ] }
 *
 * `as` names a call's output; a later input refers into it with "${name.Path.To.Value}" (a whole
 * string that is one reference takes the value as it is, e.g. a list). `account` makes the call
 * as another AWS account (a bucket name someone else holds). `region` defaults to the guide's.
 * The calls happen an hour before the account is first used, so what they made is ready.
 */
const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a name of letters, digits and _');
const account = z.string().regex(/^\d{12}$/, 'a 12-digit AWS account ID');
const entrySchema = z.strictObject({
  service: z.string().min(1),
  call: z.string().regex(/^[A-Z][A-Za-z0-9]*$/, 'an API operation name such as CreateVpc'),
  input: z.record(z.string(), z.unknown()).default({}),
  as: name.optional(),
  account: account.optional(),
  region: z.string().min(1).optional(),
});
const seedSchema = z.strictObject({
  description: z.string().optional(),
  /** The seed's calls run on the built-in account (the zone example.com) unless this is true. */
  startEmpty: z.boolean().optional(),
  region: z.string().min(1).optional(),
  calls: z.array(entrySchema),
});

export interface Seed {
  file: string;
  /** Identifies the seed's content: an account remembers which seed it was made from. */
  digest: string;
  region?: string;
  startEmpty?: boolean;
  calls: Array<z.infer<typeof entrySchema>>;
}

/**
 * The account a sandbox starts with: a public hosted zone `example.com` that the account made
 * itself (untagged, not ours), so the default domain `gitlab.example.com` has a zone to live in
 * and `npm run sandbox` needs no answer. A seed's calls run after it; a seed with
 * `"startEmpty": true` starts from an account without it.
 */
export const BUILT_IN_SEED: Seed = {
  file: '(the sandbox account built in)',
  digest: 'built-in:example.com',
  calls: [{ service: 'route53', call: 'CreateHostedZone', input: { Name: 'example.com', CallerReference: 'sandbox-account-example.com' } }],
};

const FIX = 'fix the seed file named by GITLAB_AWS_SANDBOX_SEED (see src/sandbox/seed.ts for its shape); nothing was created';
const SEED_AGE_MS = 60 * 60 * 1000;

export async function readSeed(file: string): Promise<Seed> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw badInput(`sandbox seed ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, FIX);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badInput(`sandbox seed ${file} is not valid JSON`, FIX);
  }
  const parsed = seedSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [first, index, ...rest] = issue.path;
    const where =
      first === 'calls' && typeof index === 'number'
        ? `${entryName(index, (json as { calls: unknown[] }).calls[index])}${rest.length ? ` ${rest.join('.')}` : ''}`
        : issue.path.join('.') || 'document';
    throw badInput(`sandbox seed ${file}: ${where}: ${issue.message}`, FIX);
  }
  const digest = `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
  return {
    file,
    digest,
    ...(parsed.data.region ? { region: parsed.data.region } : {}),
    ...(parsed.data.startEmpty ? { startEmpty: true } : {}),
    calls: parsed.data.calls,
  };
}

/** Runs the seed's calls on a new world, as the account's past; returns the world. */
export function applySeed(world: World, seed: Seed, operationFor: (service: string, call: string) => Operation | undefined): World {
  if (seed !== BUILT_IN_SEED && !seed.startEmpty) applySeed(world, BUILT_IN_SEED, operationFor);
  const outputs: Record<string, unknown> = {};
  const ownAccount = world.accountId;
  const now = world.simNow - SEED_AGE_MS;
  seed.calls.forEach((entry, index) => {
    const what = entryName(index, entry);
    const operation = operationFor(entry.service, entry.call);
    if (!operation)
      throw badInput(`sandbox seed ${seed.file}: ${what}: the sandbox does not implement ${entry.service}:${entry.call}`, FIX);
    const input = resolve(entry.input, outputs, (ref) => {
      throw badInput(`sandbox seed ${seed.file}: ${what}: \${${ref}} names no earlier output`, `${FIX}; "as" names an output`);
    });
    world.accountId = entry.account ?? ownAccount;
    try {
      const ctx = makeContext(world, entry.region ?? seed.region ?? GUIDE_REGION, now, { lagging: {}, maxLag: 0, dice: () => 0 });
      const output = structuredClone(operation(ctx, input));
      if (entry.as) outputs[entry.as] = output;
    } catch (err) {
      if ((err as Error).name === 'ExitError') throw err;
      throw badInput(`sandbox seed ${seed.file}: ${what} failed: ${(err as Error).name}: ${(err as Error).message}`, FIX);
    } finally {
      world.accountId = ownAccount;
    }
  });
  // The built-in account is no seed file: a seed given later is refused as for an unseeded one.
  if (seed !== BUILT_IN_SEED) world.seed = seed.digest;
  return world;
}

/** A seed describes an account's past: it cannot be laid over an account that already has one. */
export function refuseSeed(worldFile: string, seed: Seed, world: World | undefined): never {
  throw badInput(
    `the sandbox seed ${seed.file} does not match the sandbox account in ${worldFile}, made ${world?.seed ? 'from another seed' : 'without a seed'}`,
    `a seed applies only to a new sandbox account: unset GITLAB_AWS_SANDBOX_SEED, or delete ${worldFile} to start over from the seed`,
  );
}

function entryName(index: number, entry: unknown): string {
  const e = (entry ?? {}) as { as?: unknown; service?: unknown; call?: unknown };
  const label = typeof e.as === 'string' ? ` "${e.as}"` : typeof e.call === 'string' ? ` ${String(e.service)}:${e.call}` : '';
  return `calls[${index}]${label}`;
}

const REFERENCE = /\$\{([^}]+)\}/g;

function resolve(value: unknown, outputs: Record<string, unknown>, missing: (ref: string) => never): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{([^}]+)\}$/.exec(value);
    if (whole) return lookup(whole[1]!, outputs, missing);
    return value.replace(REFERENCE, (_m, ref: string) => String(lookup(ref, outputs, missing)));
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, outputs, missing));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, outputs, missing)]));
  }
  return value;
}

function lookup(ref: string, outputs: Record<string, unknown>, missing: (ref: string) => never): unknown {
  let current: unknown = outputs;
  for (const part of ref.split('.')) {
    if (current === null || typeof current !== 'object' || !(part in current)) missing(ref);
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

import { join } from 'node:path';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { z } from 'zod';
import type { CallInterceptor, ServiceName } from '../aws/clients.js';
import { badInput } from '../errors.js';
import { SandboxClock } from './clock.js';
import { Account } from './account.js';
import { withAccountLock } from './account-lock.js';
import { accessDenied, awsError, isMutating, type Operation } from './core.js';
import { makeContext } from './context.js';
import { dice } from './random.js';
import { BUILT_IN_SEED, applySeed, readSeed, refuseSeed } from './seed.js';
import { API_ROUND_TRIP_MS, DEFAULT_SPEED, MINUTE } from '../aws/durations.js';
import { catchUp, sandboxService } from './services.js';
import { emptyWorld, loadWorld, saveWorld, worldFile } from './world.js';
import { inventory, type SandboxResource } from './inventory.js';

export type { SandboxResource };

/**
 * Faults a test (or a curious operator) can inject. All dice are seeded and keyed by what they are
 * for (service, operation, the caller's time), so the same seed repeats a run exactly.
 */
export interface SandboxFaults {
  seed?: number;
  /** Share of calls answered with a throttling error (the SDK retries them). */
  throttleRate?: number;
  /** Share of calls answered with a 500/503 (the SDK retries them). */
  serverErrorRate?: number;
  /** Kill the process, as SIGKILL would, right after the Nth successful mutating call. */
  crashAfter?: number;
  /** At most this many by-ID lookups miss a fresh resource (eventual consistency); 0 turns it off. */
  consistencyLag?: number;
  /** Every NAT gateway this process creates fails (AWS's FailureCode InternalError). */
  failNatGateways?: boolean;
  /**
   * Calls the credentials may not make, as `service` or `service:Operation` (`ec2:CreateVpc`),
   * refused in each service's own AccessDenied shape (to rehearse a missing permission).
   */
  denied?: string[];
}

export interface SandboxOptions {
  stateDir: string;
  faults?: SandboxFaults;
  /** How many times faster than real time the sandbox clock runs. */
  speed?: number;
  /** What a crash does; the default kills this process outright. */
  onCrash?: () => void;
  /**
   * A seed file: what the account holds before the first run (see seed.ts); used only when the
   * account does not exist yet. Env GITLAB_AWS_SANDBOX_SEED.
   */
  seed?: string;
}

const mutationListeners = new Set<(count: number) => void>();

/**
 * For rehearsal tooling and the crash sweep: `listener` hears every mutating call a sandbox in
 * this process makes, with that sandbox's count so far (the N of `crashAfter`), synchronously
 * right after the world was saved and before the crash check, so whatever it reads from the
 * state directory is exactly what a SIGKILL at that moment would leave. Returns the unsubscribe.
 */
export function observeMutations(listener: (count: number) => void): () => void {
  mutationListeners.add(listener);
  return () => void mutationListeners.delete(listener);
}

const callListeners = new Set<(service: ServiceName, operation: string) => void>();

/** For the benchmark: `listener` hears every call a sandbox in this process answers (retried attempts too). */
export function observeCalls(listener: (service: ServiceName, operation: string) => void): () => void {
  callListeners.add(listener);
  return () => void callListeners.delete(listener);
}

/**
 * An in-memory AWS account behind the real SDK clients. It answers the operations the steps call
 * with AWS's shapes, states, timings and rules, and keeps its world in the state directory, where
 * every process working on that directory shares it (see account.ts).
 */
export class Sandbox implements CallInterceptor {
  readonly clock: SandboxClock;
  private mutations = 0;
  private crashed = false;
  /** Where this process's clock started: the dice are keyed by time since then. */
  private readonly origin: number;
  /** Fresh resource ID -> by-ID lookups that still miss it; a new process starts caught up. */
  private readonly lagging: Record<string, number> = {};

  constructor(
    private readonly account: Account,
    private readonly options: SandboxOptions,
  ) {
    this.origin = account.world.simNow;
    this.clock = new SandboxClock(this.origin, options.speed ?? DEFAULT_SPEED);
  }

  clientConfig(): Record<string, unknown> {
    return {
      credentials: { accessKeyId: 'ASIASANDBOX', secretAccessKey: 'sandbox', sessionToken: 'sandbox' },
      // Nothing should ever leave the process; if something did, it would go nowhere.
      endpoint: 'http://127.0.0.1:1',
      // The SDK's own retry logic runs against the sandbox, with waits scaled to its clock.
      retryStrategy: new ConfiguredRetryStrategy(10, (attempt) => Math.min(50, 2 ** attempt)),
    };
  }

  async intercept(call: { service: ServiceName; region: string; operation: string; input: unknown }): Promise<unknown> {
    if (this.crashed) return new Promise(() => undefined); // a killed process answers nothing
    const service = sandboxService(call.service);
    const operation = service?.operations[call.operation];
    if (!service || !operation) {
      throw awsError('InvalidAction', `The sandbox does not implement ${call.service}:${call.operation}`);
    }
    for (const listener of callListeners) listener(call.service, call.operation);
    const faults = this.options.faults ?? {};
    if (faults.denied?.some((d) => d === call.service || d === `${call.service}:${call.operation}`)) {
      await this.clock.sleep(API_ROUND_TRIP_MS);
      const { accountId } = this.account.world;
      throw accessDenied(call.service, call.operation, `arn:aws:iam::${accountId}:user/sandbox`, accountId, call.region);
    }
    // Keyed by the caller's own time (its timeline's, exact), not by how many calls came before.
    const roll = dice(faults.seed ?? 1, call.service, call.operation, this.clock.now() - this.origin);
    if (roll() < (faults.throttleRate ?? 0)) {
      await this.clock.sleep(API_ROUND_TRIP_MS);
      throw awsError(call.service === 'ec2' ? 'RequestLimitExceeded' : 'Throttling', 'Rate exceeded', call.service === 'ec2' ? 503 : 400);
    }
    if (roll() < (faults.serverErrorRate ?? 0)) {
      await this.clock.sleep(API_ROUND_TRIP_MS);
      throw awsError('InternalError', 'We encountered an internal error. Please try again.', 500);
    }
    await this.clock.sleep((service.latency[call.operation] ?? 0) * MINUTE + API_ROUND_TRIP_MS);
    const now = this.clock.now();
    const consistency = { lagging: this.lagging, maxLag: faults.consistencyLag ?? 2, dice: roll };
    const mutating = isMutating(call.operation);
    const output = await this.account.call(
      mutating,
      (world) => {
        const ctx = makeContext(world, call.region, now, consistency, { failNatGateways: faults.failNatGateways });
        catchUp(ctx);
        return operation(ctx, call.input ?? {});
      },
      (world) => {
        world.mutations += 1;
        world.simNow = Math.max(world.simNow, this.clock.overall);
      },
    );
    if (mutating) {
      this.mutations++;
      for (const listener of mutationListeners) listener(this.mutations);
      if (faults.crashAfter !== undefined && this.mutations >= faults.crashAfter) {
        this.crashed = true;
        (this.options.onCrash ?? (() => process.kill(process.pid, 'SIGKILL')))();
        return new Promise(() => undefined);
      }
    }
    return structuredClone(output);
  }

  /** Every resource in the sandbox carrying a deployment tag: what a test compares with the state. */
  inventory(deployment: string): SandboxResource[] {
    return inventory(this.account.world, this.clock.overall).filter((r) => r.deployment === deployment);
  }

  /** How many mutating calls this process has made (a crash sweep iterates over these). */
  get mutatingCalls(): number {
    return this.mutations;
  }

  /** Keeps the clock's reading for the next process; a run that changed nothing writes nothing. */
  async close(): Promise<void> {
    if (this.crashed || this.mutations === 0) return;
    await this.account.touch((world) => (world.simNow = Math.max(world.simNow, this.clock.overall)));
  }
}

const faultsSchema = z
  .strictObject({
    seed: z.number().int(),
    throttleRate: z.number().min(0).max(1),
    serverErrorRate: z.number().min(0).max(1),
    crashAfter: z.number().int().positive(),
    consistencyLag: z.number().int().nonnegative(),
    failNatGateways: z.boolean(),
    denied: z.array(z.string().regex(/^[a-z0-9]+(:[A-Z][A-Za-z0-9]*)?$/, 'service or service:Operation')),
  })
  .partial();

/** Options a sandbox run takes from the environment, so the CLI's tests can drive it from outside. */
export function sandboxOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<SandboxOptions, 'faults' | 'speed' | 'seed'> {
  const options: Pick<SandboxOptions, 'faults' | 'speed' | 'seed'> = {};
  const example = 'e.g. GITLAB_AWS_SANDBOX_FAULTS=\'{"seed":7,"throttleRate":0.1,"crashAfter":5}\'';
  if (env.GITLAB_AWS_SANDBOX_FAULTS) {
    let json: unknown;
    try {
      json = JSON.parse(env.GITLAB_AWS_SANDBOX_FAULTS);
    } catch {
      throw badInput('GITLAB_AWS_SANDBOX_FAULTS is not valid JSON', `set it to a JSON object, ${example}`);
    }
    const parsed = faultsSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
      throw badInput(
        `GITLAB_AWS_SANDBOX_FAULTS is invalid (${where}${issue.message})`,
        `it takes seed (integer), throttleRate and serverErrorRate (0 to 1), crashAfter (1 or more), consistencyLag (0 or more), failNatGateways (true or false), denied (["service:Operation", ...]), ${example}`,
      );
    }
    options.faults = parsed.data;
  }
  if (env.GITLAB_AWS_SANDBOX_SPEED) {
    const speed = Number(env.GITLAB_AWS_SANDBOX_SPEED);
    if (!(speed > 0) || !Number.isFinite(speed)) {
      throw badInput(
        `GITLAB_AWS_SANDBOX_SPEED is not a positive number: ${env.GITLAB_AWS_SANDBOX_SPEED}`,
        `set it to how many times faster than AWS the sandbox runs, e.g. ${DEFAULT_SPEED}`,
      );
    }
    options.speed = speed;
  }
  if (env.GITLAB_AWS_SANDBOX_SEED) options.seed = env.GITLAB_AWS_SANDBOX_SEED;
  return options;
}

/** The operation the sandbox runs for a service's call, if it implements it (the seed uses it). */
function operationFor(service: string, call: string): Operation | undefined {
  return sandboxService(service as ServiceName)?.operations[call];
}

export async function openSandbox(options: SandboxOptions): Promise<Sandbox> {
  const merged = { ...sandboxOptionsFromEnv(), ...options };
  const file = worldFile(options.stateDir);
  const lockFile = join(options.stateDir, 'sandbox-world.lock');
  const seed = merged.seed ? await readSeed(merged.seed) : undefined;
  let world = await loadWorld(file);
  if (!world && seed) {
    // The seeded account is made once, under the lock: a second process starting now adopts it.
    world = await withAccountLock(lockFile, async () => {
      const existing = await loadWorld(file);
      if (existing) return existing;
      const fresh = applySeed(emptyWorld(Date.now()), seed, operationFor);
      await saveWorld(file, JSON.stringify(fresh));
      return fresh;
    });
  }
  if (seed && world?.seed !== seed.digest) refuseSeed(file, seed, world);
  // Without a seed file the account starts as the built-in one; it is written on its first change.
  const account = new Account(world ?? applySeed(emptyWorld(Date.now()), BUILT_IN_SEED, operationFor), file, lockFile);
  return new Sandbox(account, merged);
}

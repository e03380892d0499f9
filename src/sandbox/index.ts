import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import type { CallInterceptor, ServiceName } from '../aws/clients.js';
import { SandboxClock } from './clock.js';
import { awsError, isMutating } from './core.js';
import { makeContext } from './context.js';
import { API_ROUND_TRIP_MS, DEFAULT_SPEED, MINUTE } from '../aws/durations.js';
import { emptySlices, sandboxService } from './services.js';
import { emptyWorld, loadWorld, saveWorld, worldFile, type World } from './world.js';
import { inventory, type SandboxResource } from './inventory.js';

export type { SandboxResource };

/** Faults a test (or a curious operator) can inject; all dice are seeded, so runs repeat exactly. */
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
}

export interface SandboxOptions {
  stateDir: string;
  faults?: SandboxFaults;
  /** How many times faster than real time the sandbox clock runs. */
  speed?: number;
  /** What a crash does; the default kills this process outright. */
  onCrash?: () => void;
}

/**
 * An in-memory AWS account behind the real SDK clients. It answers the operations the steps call
 * with AWS's shapes, states, timings and rules, and keeps its world in the state directory.
 */
export class Sandbox implements CallInterceptor {
  readonly clock: SandboxClock;
  private mutations = 0;
  private saving: Promise<void> = Promise.resolve();
  private diceState: number;
  private crashed = false;

  constructor(
    private readonly world: World,
    private readonly file: string,
    private readonly options: SandboxOptions,
  ) {
    this.clock = new SandboxClock(world.simNow, options.speed ?? DEFAULT_SPEED);
    this.diceState = options.faults?.seed ?? 1;
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
    const faults = this.options.faults ?? {};
    if (this.dice() < (faults.throttleRate ?? 0)) {
      throw awsError(call.service === 'ec2' ? 'RequestLimitExceeded' : 'Throttling', 'Rate exceeded', call.service === 'ec2' ? 503 : 400);
    }
    if (this.dice() < (faults.serverErrorRate ?? 0)) {
      throw awsError('InternalError', 'We encountered an internal error. Please try again.', 500);
    }
    await this.clock.sleep((service.latency[call.operation] ?? 0) * MINUTE + API_ROUND_TRIP_MS);
    const ctx = makeContext(this.world, call.region, this.clock.now(), faults.consistencyLag ?? 2, () => this.dice());
    const output = operation(ctx, call.input ?? {});
    if (isMutating(call.operation)) {
      this.world.mutations += 1;
      await this.save();
      this.mutations++;
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
    return inventory(this.world, this.clock.overall).filter((r) => r.deployment === deployment);
  }

  /** How many mutating calls this process has made (a crash sweep iterates over these). */
  get mutatingCalls(): number {
    return this.mutations;
  }

  save(): Promise<void> {
    this.world.simNow = Math.max(this.world.simNow, this.clock.overall);
    const text = JSON.stringify(this.world);
    const write = this.saving.then(() => saveWorld(this.file, text));
    this.saving = write.catch(() => undefined);
    return write;
  }

  /** Keeps the clock's reading for the next process; a run that changed nothing writes nothing. */
  async close(): Promise<void> {
    if (!this.crashed && this.mutations > 0) await this.save();
  }

  private dice(): number {
    let t = (this.diceState = (this.diceState + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** Options a sandbox run takes from the environment, so the CLI's tests can drive it from outside. */
export function sandboxOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<SandboxOptions, 'faults' | 'speed'> {
  const options: Pick<SandboxOptions, 'faults' | 'speed'> = {};
  if (env.GITLAB_AWS_SANDBOX_FAULTS) {
    try {
      options.faults = JSON.parse(env.GITLAB_AWS_SANDBOX_FAULTS) as SandboxFaults;
    } catch {
      throw new Error('GITLAB_AWS_SANDBOX_FAULTS is not valid JSON (expected e.g. {"crashAfter":5})');
    }
  }
  if (env.GITLAB_AWS_SANDBOX_SPEED) options.speed = Number(env.GITLAB_AWS_SANDBOX_SPEED);
  return options;
}

export async function openSandbox(options: SandboxOptions): Promise<Sandbox> {
  const file = worldFile(options.stateDir);
  const saved = await loadWorld(file);
  // A world saved before a service joined the sandbox has no part for it yet.
  const world = saved ? { ...emptySlices(), ...saved } : emptyWorld(Date.now());
  // A new process starts seconds after the last one stopped: long enough for AWS's eventual
  // consistency to have caught up with everything created before.
  world.lag = {};
  return new Sandbox(world, file, { ...sandboxOptionsFromEnv(), ...options });
}

import type { AwsClients } from '../aws/clients.js';
import type { Clock } from '../aws/clock.js';
import type { AwsErrorKind } from '../aws/errors.js';
import type { Check } from '../aws/poll.js';
import type { Tag } from '../aws/tags.js';
import type { InstallConfig } from '../config/schema.js';

/**
 * What each step returns from `create`, by step id. Every step file adds its own entry by
 * declaration merging, so `ctx.output('vpc')` is typed wherever it is read.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface StepOutputs {}
export type StepId = keyof StepOutputs & string;

/** A resource as the state file remembers it: `type` is the CloudFormation type name. */
export interface ResourceRef {
  type: string;
  id: string;
  name?: string;
}

export interface StepContext {
  /** The id of the step this context belongs to. */
  readonly stepId: string;
  readonly config: InstallConfig;
  readonly deployment: string;
  readonly region: string;
  readonly aws: AwsClients;
  readonly clock: Clock;
  /** Aborted when the run must stop; polls and waits end at once, at a safe point. */
  readonly signal: AbortSignal;
  /** The outputs of a step this one `needs`. */
  output<K extends StepId>(id: K): StepOutputs[K];
  /** Writes the resource to the state file now, before anything else can go wrong. */
  record(resource: ResourceRef): Promise<void>;
  /** Removes a deleted resource from the state file. */
  forget(resource: ResourceRef): Promise<void>;
  /** This step's resources that the state file knows, optionally of one type. */
  recorded(type?: string): ResourceRef[];
  /** The tags every resource of this step carries: Name, deployment, step. */
  tags(name: string): Tag[];
  /** A deterministic idempotency token for one create call of this step and install. */
  token(name: string): string;
  /** A line of progress for the operator ("waiting for NAT gateway nat-1: pending"). */
  progress(message: string): void;
  /** Polls on the run's clock until done; fails with what it waited for and last saw. */
  poll<T>(what: string, timeoutMs: number, check: Check<T>): Promise<T>;
  /**
   * Does `work` for every item side by side (in the sandbox, each on its own timeline, so the
   * parts take AWS's time once). Use it instead of Promise.all for a step's parallel parts.
   */
  each<T, R>(items: readonly T[], work: (item: T, index: number) => Promise<R>): Promise<R[]>;
  /** Retries `action` while AWS answers with one of `kinds` (NotFound right after a create, ...). */
  retry<T>(what: string, kinds: AwsErrorKind[] | ((err: unknown) => boolean), timeoutMs: number, action: () => Promise<T>): Promise<T>;
  /**
   * Declares a generated secret: from now on it is blanked out of every event, log line and
   * error message. Secrets themselves live only in SSM Parameter Store.
   */
  secret(value: string): void;
  /** What the operator asked of a teardown. */
  readonly teardown: TeardownOptions;
}

export interface TeardownOptions {
  /** Delete buckets that hold data (every object version) instead of keeping them. */
  deleteData: boolean;
}

/** What a `destroy` may hand back: resources it kept on purpose, which stay in the state file. */
export interface DestroyResult {
  retained: ResourceRef[];
}

export interface Step<Id extends StepId = StepId> {
  id: Id;
  /** What the operator reads, in the guide's words. */
  title: string;
  needs: StepId[];
  /** Typical minutes AWS takes for this step (for the plan's estimate). */
  minutes: number;
  /** Idempotent: find what exists by tag (or token), adopt it, create only what is missing. */
  create(ctx: StepContext): Promise<StepOutputs[Id]>;
  /** Cheap check that what an earlier run completed is still there; false re-runs `create`. */
  verify?(ctx: StepContext, outputs: StepOutputs[Id]): Promise<boolean>;
  /** What AWS holds of this step for this deployment, found by tags or owned names. */
  discover(ctx: StepContext): Promise<ResourceRef[]>;
  /**
   * Idempotent: deletes `resources` (what the state recorded plus what `discover` found) and
   * anything they depend on within this step; gone already is success.
   */
  destroy(ctx: StepContext, resources: ResourceRef[]): Promise<void | DestroyResult>;
}

export type AnyStep = { [K in StepId]: Step<K> }[StepId];

export function defineStep<Id extends StepId>(step: Step<Id>): Step<Id> {
  return step;
}

import type { z } from 'zod';
import type { AwsClients } from '../aws/clients.js';
import type { Clock } from '../aws/clock.js';
import type { AwsErrorKind } from '../aws/errors.js';
import type { Check, PollPace } from '../aws/poll.js';
import type { Tag } from '../aws/tags.js';
import type { InstallConfig } from '../config/schema.js';

/** A resource as the state file remembers it: `type` is the CloudFormation type name. */
export interface ResourceRef {
  type: string;
  id: string;
  name?: string;
}

/** A resource the install will create, as the plan lists it (before AWS has given it an ID). */
export interface PlannedResource {
  /** CloudFormation type name, as in the state file: AWS::EC2::Subnet. */
  type: string;
  /** Its Name tag, or its own name where AWS keeps one (IAM, S3, SSM). */
  name: string;
  /**
   * The step that ends its life within the install (the base instance, once the AMI is baked):
   * it costs only while the install runs and is not among what the install leaves standing.
   */
  retiredBy?: string;
}

/** What a step that needs another knows of it: its id and the shape of its outputs. */
export interface StepRef<Id extends string = string, Outputs = unknown> {
  readonly id: Id;
  readonly outputs: z.ZodType<Outputs>;
}

/** The outputs of the step called `K` among `Needs`; never for a step not needed. */
type OutputsOf<Needs extends readonly StepRef[], K extends string> =
  Extract<Needs[number], { id: K }> extends StepRef<string, infer Outputs> ? Outputs : never;

export interface StepContext<Needs extends readonly StepRef[] = readonly StepRef[]> {
  /** The id of the step this context belongs to. */
  readonly stepId: string;
  readonly config: InstallConfig;
  readonly deployment: string;
  readonly region: string;
  readonly aws: AwsClients;
  readonly clock: Clock;
  /** Aborted when the run must stop; polls and waits end at once, at a safe point. */
  readonly signal: AbortSignal;
  /** The outputs of a step this one `needs` (only those compile), validated against its schema. */
  output<K extends Needs[number]['id']>(id: K): OutputsOf<Needs, K>;
  /** Writes the resource to the state file now, before anything else can go wrong. */
  record(resource: ResourceRef): Promise<void>;
  /** Removes a deleted resource from the state file. */
  forget(resource: ResourceRef): Promise<void>;
  /** This step's resources that the state file knows, optionally of one type. */
  recorded(type?: string): ResourceRef[];
  /** The tags every resource of this step carries: Name, deployment, step. */
  tags(name: string): Tag[];
  /**
   * A deterministic idempotency token for one create call of this step and install: the same on
   * every retry and resume until the resource it made is known gone (see src/engine/tokens.ts).
   */
  token(name: string): string;
  /** The resource `token(name)` made is gone (deleted, failed, terminated): the next create makes a new one. */
  renewToken(name: string): Promise<void>;
  /** A line of progress for the operator ("waiting for NAT gateway nat-1: pending"). */
  progress(message: string): void;
  /**
   * Polls on the run's clock until done; fails with what it waited for and last saw. A pace
   * (`paceFor(minutes)`) spaces the looks to the resource; a bare timeout looks every 5-30 s.
   */
  poll<T>(what: string, wait: number | PollPace, check: Check<T>): Promise<T>;
  /**
   * Does `work` for every item side by side, each on a timeline of its own (so in the sandbox
   * the parts take AWS's time once), and waits for every part before it reports the first
   * failure. The only way to run a step's parts in parallel: Promise.all of waits is refused.
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
  /** Delete the RDS instance without the final snapshot it otherwise keeps. */
  skipFinalSnapshot?: boolean;
}

/** A resource a `destroy` found not to be this deployment's, and why (its tags, as read then). */
export interface ForeignResource extends ResourceRef {
  reason: string;
}

/**
 * What a `destroy` may hand back: resources it kept on purpose, which stay in the state file, and
 * resources it left alone because they are not this deployment's (forgotten, and named).
 */
export interface DestroyResult {
  retained: ResourceRef[];
  foreign?: ForeignResource[];
}

/** A step as the engine runs it: the typed definition below with the types erased. */
export interface EngineStep {
  id: string;
  title: string;
  /** The ids of the steps that must complete first. */
  needs: readonly string[];
  /** Typical minutes AWS takes for this step (for the plan's estimate). */
  minutes: number;
  /** Checks the outputs read back from the state file; a mismatch makes the step run again. */
  outputs?: z.ZodType;
  /** What the step will create for these answers (bucket names need the account). */
  resources?(config: InstallConfig, account: string): PlannedResource[];
  create(ctx: StepContext): Promise<unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  verify?(ctx: StepContext, outputs: any): Promise<boolean>;
  discover(ctx: StepContext): Promise<ResourceRef[]>;
  destroy(ctx: StepContext, resources: ResourceRef[]): Promise<void | DestroyResult>;
}

/**
 * One part of the guide, in its words: what it needs, makes and hands on, and how to undo it.
 * (`NoInfer`: the needs tuple is read from `needs` alone, never widened by a shared helper such
 * as `discover: discoverOurs(...)`, which takes any step's context.)
 */
export interface StepDefinition<Id extends string, Needs extends readonly StepRef[], Outputs extends z.ZodType> {
  id: Id;
  /** What the operator reads, in the guide's words. */
  title: string;
  /** The steps whose outputs this one reads; `ctx.output` compiles for these only. */
  needs: Needs;
  /** Typical minutes AWS takes for this step (for the plan's estimate). */
  minutes: number;
  /** What `create` hands on to the steps that need this one, checked whenever it is read back. */
  outputs: Outputs;
  /** Every resource `create` makes, as a pure function of the answers: the plan lists these. */
  resources(config: InstallConfig, account: string): PlannedResource[];
  /** Idempotent: find what exists by tag (or token), adopt it, create only what is missing. */
  create(ctx: NoInfer<StepContext<Needs>>): Promise<z.output<Outputs>>;
  /** Cheap check that what an earlier run completed is still there; false re-runs `create`. */
  verify?(ctx: NoInfer<StepContext<Needs>>, outputs: z.output<Outputs>): Promise<boolean>;
  /** What AWS holds of this step for this deployment, found by tags or owned names. */
  discover(ctx: NoInfer<StepContext<Needs>>): Promise<ResourceRef[]>;
  /**
   * Idempotent: deletes `resources` (what the state recorded plus what `discover` found) and
   * anything they depend on within this step; gone already is success.
   */
  destroy(ctx: NoInfer<StepContext<Needs>>, resources: ResourceRef[]): Promise<void | DestroyResult>;
}

/** A defined step: runnable by the engine, and a typed `needs` entry for the steps after it. */
export type Step<Id extends string = string, Outputs = unknown> = Omit<EngineStep, 'id' | 'outputs'> & StepRef<Id, Outputs>;

export function defineStep<Id extends string, const Needs extends readonly StepRef[], Outputs extends z.ZodType>(
  definition: StepDefinition<Id, Needs, Outputs>,
): Step<Id, z.output<Outputs>> {
  // The engine knows needs by id; the step objects only carry the types to `ctx.output`.
  return { ...definition, needs: definition.needs.map((need) => need.id) } as unknown as Step<Id, z.output<Outputs>>;
}

import type { AwsSession } from '../aws/clients.js';
import { errorMessage } from '../errors.js';
import { explain } from '../aws/errors.js';
import { poll, retryWhile } from '../aws/poll.js';
import { resourceTags } from '../aws/tags.js';
import type { StateStore } from '../state/store.js';
import type { EngineEvent, EventSink, Operation, RunStep, StepOutcome, Wait } from './events.js';
import { checkGraph, dependents } from './graph.js';
import { changedNeeds, needsFingerprint, readOutputs } from './outputs.js';
import type { EngineStep, ForeignResource, ResourceRef, StepContext, TeardownOptions } from './step.js';
import { Redactor } from './redact.js';
import { advanceTokens, idempotencyToken } from './tokens.js';

export type { EngineStep } from './step.js';

export interface RunOptions {
  steps: readonly EngineStep[];
  store: StateStore;
  aws: AwsSession;
  emit: EventSink;
  /** Aborted by an interrupt (Ctrl-C): running steps stop at a safe point. */
  signal?: AbortSignal;
  teardown?: TeardownOptions;
  /** Shared with the caller so its own messages are redacted the same way. */
  redactor?: Redactor;
}

export interface RunResult {
  ok: boolean;
  stoppedBy?: 'failure' | 'interrupt';
  /** `error` in the operator's words (explain), `hint` the fix, `raw` AWS's own words when they differ (for --verbose). */
  failed: Array<{ step: string; error: string; hint?: string; raw?: string }>;
  /** Teardown: what steps left alone because it is not this deployment's (no longer tracked). */
  foreign?: ForeignResource[];
}

class StopRequested extends Error {
  override name = 'StopRequested';
}

/**
 * Runs every step whose needs are met, all at once, until all are done or one fails. A failure
 * stops new work and aborts waits in running steps (every resource they made is already in the
 * state file); the state then says exactly where a resume picks up.
 */
export async function runInstall(options: RunOptions): Promise<RunResult> {
  return schedule('install', options, {
    after: (step) => step.needs,
    run: (step, ctx) => installStep(step, ctx, options),
  });
}

/** Runs `destroy` for every step, dependents first, independent ones at once. */
export async function runTeardown(options: RunOptions): Promise<RunResult> {
  const foreign: ForeignResource[] = [];
  const result = await schedule('teardown', options, {
    after: (step) => dependents(options.steps, step.id).map((d) => d.id),
    run: (step, ctx) => destroyStep(step, ctx, options, foreign),
  });
  return foreign.length ? { ...result, foreign } : result;
}

interface Strategy {
  /** The steps that must end before this one starts. */
  after(step: EngineStep): readonly string[];
  run(step: EngineStep, ctx: StepContext): Promise<StepOutcome>;
}

async function schedule(operation: Operation, rawOptions: RunOptions, strategy: Strategy): Promise<RunResult> {
  const redactor = rawOptions.redactor ?? new Redactor();
  const emit: EventSink = (event) => rawOptions.emit(redactor.deep(event));
  const options: RunOptions = { ...rawOptions, emit, redactor };
  const { steps, store, aws } = options;
  checkGraph(steps);
  const clock = aws.clock;
  const started = clock.now();
  const stop = new AbortController();
  const onInterrupt = () => stop.abort(new StopRequested('interrupted'));
  if (options.signal?.aborted) onInterrupt();
  options.signal?.addEventListener('abort', onInterrupt, { once: true });

  emit({
    type: 'run-started',
    operation,
    deployment: store.state.deployment,
    steps: runSteps(operation, steps, store),
    simulated: clock.simulated,
  });
  const finished = new Set<string>();
  const launched = new Set<string>();
  const failed: RunResult['failed'] = [];
  const running = new Map<string, Promise<void>>();

  const endedAt = new Map<string, number>();
  const launch = (step: EngineStep) => {
    launched.add(step.id);
    const ctx = makeContext(step, { ...options, runStartedAt: started }, stop.signal);
    // A step starts, on AWS's time, when the last step it waits for ended.
    const startAt = Math.max(started, ...strategy.after(step).map((id) => endedAt.get(id) ?? started));
    emit({ type: 'step-started', operation, step: step.id, title: step.title, atMs: startAt - started });
    const work = clock
      .timeline(startAt, async () => {
        try {
          return { ok: true as const, outcome: await strategy.run(step, ctx), at: clock.now() };
        } catch (error) {
          return { ok: false as const, error, at: clock.now() };
        }
      })
      .then(async (result) => {
        endedAt.set(step.id, result.at);
        const elapsedMs = result.at - startAt;
        const atMs = result.at - started;
        if (result.ok) {
          finished.add(step.id);
          emit({ type: 'step-finished', operation, step: step.id, title: step.title, outcome: result.outcome, elapsedMs, atMs });
          return;
        }
        const err = result.error;
        const stopped = stop.signal.aborted && (err === stop.signal.reason || err instanceof StopRequested);
        // The state file keeps AWS's own words; the operator reads them translated.
        const recorded = redactor.apply(errorMessage(err));
        await store.update((doc) => {
          const entry = (doc.steps[step.id] ??= { status: 'pending' });
          entry.status = stopped ? (operation === 'install' ? 'pending' : entry.status) : 'failed';
          if (!stopped) entry.error = recorded;
        });
        const explained = explain(err, { profile: options.aws.profile });
        const message = redactor.apply(explained.message);
        const hint = explained.fix && redactor.apply(explained.fix);
        const raw = redactor.apply(explained.raw);
        if (!stopped) {
          failed.push({ step: step.id, error: message, ...(hint ? { hint } : {}), ...(raw !== message ? { raw } : {}) });
          stop.abort(new StopRequested('a step failed'));
        }
        emit({
          type: 'step-finished',
          operation,
          step: step.id,
          title: step.title,
          outcome: stopped ? 'stopped' : 'failed',
          elapsedMs,
          atMs,
          ...(stopped ? {} : { error: message, ...(hint ? { hint } : {}) }),
        });
      })
      .finally(() => running.delete(step.id));
    running.set(step.id, work);
  };

  for (;;) {
    if (!stop.signal.aborted) {
      for (const step of steps) {
        if (!launched.has(step.id) && strategy.after(step).every((id) => finished.has(id))) launch(step);
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  options.signal?.removeEventListener('abort', onInterrupt);
  await store.flushed();

  const ok = finished.size === steps.length;
  const stoppedBy = ok ? undefined : failed.length ? 'failure' : 'interrupt';
  const elapsedMs = Math.max(0, ...[...endedAt.values()].map((t) => t - started));
  emit({ type: 'run-finished', operation, ok, elapsedMs, ...(stoppedBy ? { stoppedBy } : {}) });
  return { ok, failed, ...(stoppedBy ? { stoppedBy } : {}) };
}

async function installStep(step: EngineStep, ctx: StepContext, { store, aws }: RunOptions): Promise<StepOutcome> {
  const previous = store.state.steps[step.id];
  const fingerprint = needsFingerprint(step, store.state);
  if (previous?.status === 'complete') {
    // Complete only if its outputs still read as the step's and what it was built on is unchanged;
    // otherwise `create` runs again, adopting what exists and repairing what does not match.
    const outputs = readOutputs(step, previous.outputs);
    const changed = changedNeeds(previous.needsFingerprint, fingerprint);
    if (!outputs.ok) ctx.progress(`the state file's outputs of this step do not match (${outputs.why}); checking it again`);
    else if (changed.length) ctx.progress(`${changed.join(', ')} changed since this step completed; checking it again`);
    else if (!step.verify || (await step.verify(ctx, outputs.value))) return 'verified';
    else ctx.progress('what this step made is no longer all there; creating what is missing');
  }
  const begin = aws.clock.now();
  await store.update((doc) => {
    // A completed step that runs again may find something it made gone (deleted by hand, or built
    // on a need that was re-created): its tokens must not replay that. Everything it made so far is
    // recorded and found by tag; a crash from here on keeps status `running`, and the new generation.
    if (previous?.status === 'complete') advanceTokens(doc, step.id);
    doc.steps[step.id] = { status: 'running', startedAt: new Date().toISOString() };
  });
  const created = await step.create(ctx);
  // A step handing on outputs that do not match its own schema is a bug: fail it here, not later.
  const outputs = (step.outputs ? step.outputs.parse(created) : created) as Record<string, unknown>;
  await store.update((doc) => {
    doc.steps[step.id] = {
      ...doc.steps[step.id],
      status: 'complete',
      outputs,
      needsFingerprint: fingerprint,
      finishedAt: new Date().toISOString(),
      elapsedMs: aws.clock.now() - begin,
    };
  });
  return 'done';
}

async function destroyStep(step: EngineStep, ctx: StepContext, { store }: RunOptions, foreign: ForeignResource[]): Promise<StepOutcome> {
  await store.update((doc) => {
    // From here on, what the step's tokens made may be deleted at any call: a later install must
    // create afresh (after adopting by tag whatever survives), never replay a deleted resource.
    advanceTokens(doc, step.id);
    doc.steps[step.id] = { ...doc.steps[step.id], status: 'destroying' };
  });
  const found = await step.discover(ctx);
  const resources = uniqueResources([...ctx.recorded(), ...found]);
  const result = await step.destroy(ctx, resources);
  const retained = result?.retained ?? [];
  // Not ours: the step already forgot it; the command names it.
  foreign.push(...(result?.foreign ?? []));
  for (const kept of retained) await ctx.record(kept);
  const keep = (r: ResourceRef) => retained.some((k) => k.type === r.type && k.id === r.id);
  await store.update((doc) => {
    doc.resources = doc.resources.filter((r) => r.step !== step.id || keep(r));
    doc.steps[step.id] = { status: retained.length ? 'retained' : 'destroyed', finishedAt: new Date().toISOString() };
  });
  return retained.length ? 'retained' : 'destroyed';
}

/** The steps as the run announces them; an install expects a step complete in the state to be verified only. */
function runSteps(operation: Operation, steps: readonly EngineStep[], store: StateStore): RunStep[] {
  return steps.map(({ id, title, needs, minutes }) => ({
    id,
    title,
    needs: [...needs],
    minutes,
    ...(operation === 'install' && store.state.steps[id]?.status === 'complete' ? { complete: true as const } : {}),
  }));
}

export function uniqueResources(resources: ResourceRef[]): ResourceRef[] {
  const seen = new Map<string, ResourceRef>();
  for (const r of resources) if (!seen.has(`${r.type} ${r.id}`)) seen.set(`${r.type} ${r.id}`, r);
  return [...seen.values()];
}

/** The step's view of the run: config, clients, state writes and waits on the run's clock. */
export function makeContext(
  step: EngineStep,
  options: Pick<RunOptions, 'store' | 'aws' | 'emit' | 'teardown' | 'redactor'> & {
    steps?: readonly EngineStep[];
    /** The run's start on its clock: progress carries its offset from it (`atMs`). */
    runStartedAt?: number;
  },
  signal: AbortSignal,
): StepContext {
  const { store, aws, emit } = options;
  const origin = options.runStartedAt ?? aws.clock.now();
  const progress = (message: string, wait?: Wait) =>
    emit({
      type: 'step-progress',
      step: step.id,
      message,
      atMs: aws.clock.now() - origin,
      ...(wait ? { wait } : {}),
    } satisfies EngineEvent);
  // The one place a wait becomes progress: the message bench and --verbose read, and the wait as data.
  const onWait = (what: string) => (wait: Wait) => progress(`waiting for ${what}: ${wait.state}`, wait);
  const redactor = options.redactor ?? new Redactor();
  const doc = () => store.state;
  const context: StepContext = {
    stepId: step.id,
    config: doc().config,
    deployment: doc().deployment,
    region: aws.region,
    aws,
    clock: aws.clock,
    signal,
    output(id: string) {
      if (!step.needs.includes(id)) throw new Error(`step '${step.id}' reads outputs of '${id}' without needing it`);
      const stored = doc().steps[id]?.outputs;
      if (!stored) throw new Error(`step '${step.id}' needs '${id}', which has not completed`);
      const outputs = readOutputs(options.steps?.find((s) => s.id === id) ?? {}, stored);
      if (!outputs.ok) throw new Error(`step '${step.id}' needs '${id}', whose outputs in the state file do not match (${outputs.why})`);
      return outputs.value as never;
    },
    async record(resource) {
      await store.record({ ...resource, step: step.id, recordedAt: new Date().toISOString() });
      emit({ type: 'resource', step: step.id, action: 'recorded', resource });
    },
    async forget(resource) {
      await store.forget(resource.type, resource.id);
      emit({ type: 'resource', step: step.id, action: 'forgotten', resource });
    },
    recorded(type) {
      return doc()
        .resources.filter((r) => r.step === step.id && (!type || r.type === type))
        .map(({ type: t, id, name }) => ({ type: t, id, ...(name ? { name } : {}) }));
    },
    tags: (name) => resourceTags(doc().deployment, step.id, name),
    token: (name) => idempotencyToken(doc(), step.id, name),
    async renewToken(name) {
      await store.update((d) => advanceTokens(d, `${step.id}/${name}`));
    },
    progress: (message) => progress(message),
    poll: (what, wait, check) =>
      poll(
        {
          clock: aws.clock,
          what,
          ...(typeof wait === 'number' ? { timeoutMs: wait } : wait),
          signal,
          onWait: onWait(what),
        },
        check,
      ),
    retry: (what, kinds, timeoutMs, action) =>
      retryWhile(
        kinds,
        {
          clock: aws.clock,
          what,
          timeoutMs,
          signal,
          delayMs: 2_000,
          maxDelayMs: 20_000,
          onWait: onWait(what),
        },
        action,
      ),
    secret: (value) => redactor.add(value),
    async each(items, work) {
      const start = aws.clock.now();
      let end = start;
      // Every part runs to its end even when another fails: a part still creating must record
      // what it made while the run (its state file, its log, its lock) is still there.
      const settled = await Promise.allSettled(
        items.map((item, i) =>
          aws.clock.timeline(start, async () => {
            try {
              return await work(item, i);
            } finally {
              end = Math.max(end, aws.clock.now());
            }
          }),
        ),
      );
      // This timeline resumes when the last part ended (a clock move, not a wait to abort).
      await aws.clock.sleep(end - aws.clock.now());
      const failure = settled.find((s) => s.status === 'rejected');
      if (failure) throw failure.reason;
      return settled.map((s) => (s as PromiseFulfilledResult<Awaited<ReturnType<typeof work>>>).value);
    },
    teardown: options.teardown ?? { deleteData: false },
  };
  return context;
}

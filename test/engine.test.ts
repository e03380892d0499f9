import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { wallClock, type Clock } from '../src/aws/clock.js';
import { buildInstallConfig } from '../src/config/schema.js';
import type { EngineEvent } from '../src/engine/events.js';
import { criticalPathMinutes, waves } from '../src/engine/graph.js';
import { makeContext, runInstall, runTeardown, type EngineStep } from '../src/engine/run.js';
import { defineStep, type ResourceRef, type StepContext } from '../src/engine/step.js';
import type { StateDoc } from '../src/state/schema.js';
import { SandboxClock } from '../src/sandbox/clock.js';
import { newStateDoc, readState, StateStore } from '../src/state/store.js';
import { tempDir } from './helpers.js';

/** Engine tests never talk to AWS; a client asked for anyway is a bug in the test. */
const noClient = async () => {
  throw new Error('engine tests use no AWS client');
};

const aws = {
  region: 'us-west-2',
  clock: wallClock,
  sandbox: true,
  ec2: noClient,
  iam: noClient,
  sts: noClient,
  ssm: noClient,
  builtClients: () => [],
  close: async () => {},
} as unknown as AwsSession;

/**
 * The same session on the sandbox's clock, whose time moves only by waits: what a step takes is
 * exact on it, however busy the machine is. A simulated minute passes in well under a millisecond.
 */
function onSandboxClock(): AwsSession & { clock: Clock } {
  return { ...aws, clock: new SandboxClock(0, 1_000_000) } as AwsSession & { clock: Clock };
}

async function harness(installId = 'test') {
  const dir = await tempDir();
  const file = join(dir, 'gitlab.json');
  const store = await StateStore.create(
    file,
    newStateDoc({
      deployment: 'gitlab',
      installId,
      sandbox: true,
      config: buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2' }),
      writtenBy: 'test',
    }),
  );
  const events: EngineEvent[] = [];
  const onDisk = async () => JSON.parse(await readFile(file, 'utf8')) as StateDoc;
  /** Changes the state file behind the program's back, as an operator's editor or a bug might. */
  const tamper = async (change: (doc: StateDoc) => void) => {
    const doc = await onDisk();
    change(doc);
    await writeFile(file, JSON.stringify(doc));
    // What a new process reads: the file, through the state schema.
    return new StateStore(file, (await readState(file))!);
  };
  return { dir, file, store, events, emit: (e: EngineEvent) => void events.push(e), onDisk, tamper };
}

/** A step with no AWS behind it; only what a test overrides does anything. */
function fakeStep(
  id: string,
  needs: string[],
  create: (ctx: StepContext) => Promise<unknown>,
  extra: Partial<EngineStep> = {},
): EngineStep {
  return {
    id,
    title: `Step ${id.toUpperCase()}`,
    needs,
    minutes: 1,
    create,
    discover: async () => [],
    destroy: async () => {},
    ...extra,
  };
}

const finishes = (events: EngineEvent[]) =>
  events.flatMap((e) => (e.type === 'step-finished' ? [{ step: e.step, outcome: e.outcome, error: e.error }] : []));
const starts = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'step-started' ? [e.step] : []));
const outcomeOf = (events: EngineEvent[], id: string) => finishes(events).find((f) => f.step === id)?.outcome;

type Span = { start: number; end: number };

describe('install scheduling', () => {
  test('independent steps run side by side; a step needing both starts after both finish', async () => {
    const h = await harness();
    const session = onSandboxClock();
    const spans: Record<string, Span> = {};
    const timed = (id: string, ms: number) => async (ctx: StepContext) => {
      const start = ctx.clock.now();
      await ctx.clock.sleep(ms, ctx.signal);
      spans[id] = { start, end: ctx.clock.now() };
      return {};
    };
    const steps = [
      fakeStep('a', [], timed('a', 100_000)),
      fakeStep('b', [], timed('b', 100_000)),
      fakeStep('c', ['a', 'b'], timed('c', 5_000)),
    ];

    const result = await runInstall({ steps, store: h.store, aws: session, emit: h.emit });

    expect(result).toEqual({ ok: true, failed: [] });
    expect(spans).toEqual({
      a: { start: 0, end: 100_000 },
      b: { start: 0, end: 100_000 },
      c: { start: 100_000, end: 105_000 },
    });
    // One after another it would take 205 s.
    expect(h.events.at(-1)).toMatchObject({ type: 'run-finished', ok: true, elapsedMs: 105_000 });
  });

  test("the progress list shows the steps in the guide's order, not the order they finish", async () => {
    const h = await harness();
    const steps = [
      fakeStep('slow', [], async (ctx) => (await ctx.clock.sleep(60, ctx.signal), {})),
      fakeStep('quick', [], async () => ({})),
      fakeStep('after-quick', ['quick'], async () => ({})),
    ];
    await runInstall({ steps, store: h.store, aws, emit: h.emit });

    const started = h.events[0];
    expect(started?.type).toBe('run-started');
    expect(started?.type === 'run-started' && started.steps.map(({ id, title, needs }) => ({ id, title, needs }))).toEqual([
      { id: 'slow', title: 'Step SLOW', needs: [] },
      { id: 'quick', title: 'Step QUICK', needs: [] },
      { id: 'after-quick', title: 'Step AFTER-QUICK', needs: ['quick'] },
    ]);
    // Proves the order above is not just the order of completion.
    expect(finishes(h.events).map((f) => f.step)).toEqual(['quick', 'after-quick', 'slow']);
    expect(h.events.at(-1)).toMatchObject({ type: 'run-finished', operation: 'install', ok: true });
  });

  test('a step reads the outputs of the steps it needs, and only those', async () => {
    const h = await harness();
    let refusal = '';
    const steps = [
      fakeStep('a', [], async () => ({ vpcId: 'vpc-1' })),
      fakeStep('b', [], async () => ({ subnets: ['subnet-1', 'subnet-2'] })),
      fakeStep('c', ['a', 'b'], async (ctx) => {
        const output = ctx.output as (id: string) => Record<string, unknown>;
        try {
          output('elsewhere');
        } catch (err) {
          refusal = (err as Error).message;
        }
        return { vpcId: output('a').vpcId, subnets: output('b').subnets };
      }),
    ];
    const result = await runInstall({ steps, store: h.store, aws, emit: h.emit });

    expect(result.ok).toBe(true);
    expect((await h.onDisk()).steps.c?.outputs).toEqual({ vpcId: 'vpc-1', subnets: ['subnet-1', 'subnet-2'] });
    expect(refusal).toBe("step 'c' reads outputs of 'elsewhere' without needing it");
  });

  test('ctx.record puts the resource in the state file before the step goes on', async () => {
    const h = await harness();
    let seenOnDisk: StateDoc['resources'] = [];
    const steps = [
      fakeStep('a', [], async (ctx) => {
        await ctx.record({ type: 'AWS::EC2::VPC', id: 'vpc-1', name: 'gitlab-vpc' });
        seenOnDisk = (await h.onDisk()).resources;
        // A crash here must not lose the VPC.
        return {};
      }),
    ];
    await runInstall({ steps, store: h.store, aws, emit: h.emit });

    expect(seenOnDisk).toEqual([expect.objectContaining({ type: 'AWS::EC2::VPC', id: 'vpc-1', name: 'gitlab-vpc', step: 'a' })]);
    expect(h.events).toContainEqual({
      type: 'resource',
      step: 'a',
      action: 'recorded',
      resource: { type: 'AWS::EC2::VPC', id: 'vpc-1', name: 'gitlab-vpc' },
    });
  });
});

describe('parallel parts of a step', () => {
  test('Promise.all of waits inside a step is caught on the sandbox clock, naming ctx.each', async () => {
    const h = await harness();
    const steps = [
      fakeStep('nat-gateways', [], async (ctx) => {
        await Promise.all(['a', 'b'].map(() => ctx.clock.sleep(60_000, ctx.signal)));
        return {};
      }),
    ];
    const result = await runInstall({ steps, store: h.store, aws: onSandboxClock(), emit: h.emit });

    expect(result).toMatchObject({ ok: false, stoppedBy: 'failure' });
    expect(result.failed).toEqual([{ step: 'nat-gateways', error: expect.stringMatching(/two waits overlap on one timeline.*ctx\.each/) }]);
  });

  test('Promise.all of AWS calls inside a step is caught the same way in a sandbox run', async () => {
    const h = await harness();
    const session = await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: h.dir } });
    const steps = [
      fakeStep('vpc', [], async (ctx) => {
        const ec2 = await ctx.aws.ec2();
        await Promise.all([ec2.describeVpcs({}), ec2.describeSubnets({})]);
        return {};
      }),
    ];
    const result = await runInstall({ steps, store: h.store, aws: session, emit: h.emit });
    await session.close();

    expect(result.failed).toEqual([{ step: 'vpc', error: expect.stringMatching(/two waits overlap on one timeline.*ctx\.each/) }]);
  });

  test('ctx.each runs the parts on timelines of their own: the step takes the longest part, once', async () => {
    const h = await harness();
    const steps = [
      fakeStep('nat-gateways', [], async (ctx) => {
        const ends = await ctx.each([20_000, 30_000], async (ms) => {
          await ctx.clock.sleep(ms, ctx.signal);
          await ctx.clock.sleep(ms, ctx.signal);
          return ctx.clock.now();
        });
        return { ends, after: ctx.clock.now() };
      }),
    ];
    const result = await runInstall({ steps, store: h.store, aws: onSandboxClock(), emit: h.emit });

    expect(result.ok).toBe(true);
    // One after another (or both on one timeline) the parts would end at 100 s.
    expect((await h.onDisk()).steps['nat-gateways']?.outputs).toEqual({ ends: [40_000, 60_000], after: 60_000 });
    expect(finishes(h.events)).toEqual([{ step: 'nat-gateways', outcome: 'done', error: undefined }]);
    expect(h.events.find((e) => e.type === 'step-finished')).toMatchObject({ elapsedMs: 60_000 });
  });

  test('ctx.each with a failing part lets the other part record its resource before the run reports', async () => {
    const h = await harness();
    const steps = [
      fakeStep('nat-gateways', [], async (ctx) =>
        ctx.each(['a', 'b'], async (zone) => {
          if (zone === 'a') throw new Error('NAT gateway nat-a failed: insufficient capacity');
          await ctx.clock.sleep(90_000, ctx.signal);
          await ctx.record({ type: 'AWS::EC2::NatGateway', id: 'nat-b' });
          return zone;
        }),
      ),
    ];
    const result = await runInstall({ steps, store: h.store, aws: onSandboxClock(), emit: h.emit });

    expect(result).toEqual({
      ok: false,
      stoppedBy: 'failure',
      failed: [{ step: 'nat-gateways', error: 'NAT gateway nat-a failed: insufficient capacity' }],
    });
    // On disk the moment the run returns: a resume adopts it, a teardown deletes it.
    expect((await h.onDisk()).resources).toEqual([expect.objectContaining({ type: 'AWS::EC2::NatGateway', id: 'nat-b' })]);
    const order = h.events.map((e) => e.type);
    expect(order.indexOf('resource')).toBeGreaterThan(-1);
    expect(order.indexOf('resource')).toBeLessThan(order.indexOf('step-finished'));
    expect(order.at(-1)).toBe('run-finished');
  });
});

describe('stopping', () => {
  test('a failing step stops waiting steps at a safe point, and nothing new starts', async () => {
    const h = await harness();
    const created: string[] = [];
    const steps = [
      fakeStep('a', [], async (ctx) => {
        created.push('a');
        await ctx.record({ type: 'AWS::EC2::NatGateway', id: 'nat-1' });
        // Would wait 10 s if the failure did not end the wait.
        return ctx.poll('NAT gateway nat-1 to become available', 10_000, async () => ({ done: false, seen: 'pending' }));
      }),
      fakeStep('e', [], async (ctx) => {
        created.push('e');
        await ctx.clock.sleep(10_000, ctx.signal);
        return {};
      }),
      fakeStep('b', [], async (ctx) => {
        created.push('b');
        await ctx.clock.sleep(30, ctx.signal);
        throw new Error('VpcLimitExceeded: The maximum number of VPCs has been reached.');
      }),
      fakeStep('d', ['b'], async () => (created.push('d'), {})),
    ];

    const result = await runInstall({ steps, store: h.store, aws, emit: h.emit });

    // 'stopped', not 'done': a and e would have waited their 10 s out had the failure not ended the waits.
    expect(result).toEqual({
      ok: false,
      stoppedBy: 'failure',
      failed: [{ step: 'b', error: 'VpcLimitExceeded: The maximum number of VPCs has been reached.' }],
    });
    expect(created.sort()).toEqual(['a', 'b', 'e']);
    expect(starts(h.events)).not.toContain('d');
    expect(outcomeOf(h.events, 'a')).toBe('stopped');
    expect(outcomeOf(h.events, 'e')).toBe('stopped');
    expect(finishes(h.events).find((f) => f.step === 'b')).toEqual({
      step: 'b',
      outcome: 'failed',
      error: 'VpcLimitExceeded: The maximum number of VPCs has been reached.',
    });
    expect(h.events.at(-1)).toMatchObject({ type: 'run-finished', ok: false, stoppedBy: 'failure' });

    const doc = await h.onDisk();
    expect(doc.steps.b).toMatchObject({ status: 'failed', error: 'VpcLimitExceeded: The maximum number of VPCs has been reached.' });
    // Stopped steps go back to pending, so a resume runs them again.
    expect(doc.steps.a?.status).toBe('pending');
    expect(doc.steps.e?.status).toBe('pending');
    expect(doc.steps.d).toBeUndefined();
    expect(doc.resources).toEqual([expect.objectContaining({ type: 'AWS::EC2::NatGateway', id: 'nat-1', step: 'a' })]);
  });

  test('an interrupt stops running steps, which a resume then runs again', async () => {
    const h = await harness();
    const interrupt = new AbortController();
    const waiting = (id: string) =>
      fakeStep(id, [], async (ctx) => {
        await ctx.record({ type: 'AWS::EC2::VPC', id: `vpc-${id}` });
        await ctx.clock.sleep(10_000, ctx.signal);
        return {};
      });
    const steps = [fakeStep('quick', [], async () => ({ done: true })), waiting('a'), waiting('b')];
    setTimeout(() => interrupt.abort(new Error('interrupted')), 50);

    const result = await runInstall({ steps, store: h.store, aws, emit: h.emit, signal: interrupt.signal });

    expect(result).toEqual({ ok: false, stoppedBy: 'interrupt', failed: [] });
    expect(outcomeOf(h.events, 'a')).toBe('stopped');
    expect(outcomeOf(h.events, 'b')).toBe('stopped');
    expect(h.events.at(-1)).toMatchObject({ type: 'run-finished', ok: false, stoppedBy: 'interrupt' });
    const doc = await h.onDisk();
    expect(doc.steps.a?.status).toBe('pending');
    expect(doc.steps.b?.status).toBe('pending');
    expect(doc.steps.quick?.status).toBe('complete');
    expect(doc.resources.map((r) => r.id).sort()).toEqual(['vpc-a', 'vpc-b']);

    const again: EngineEvent[] = [];
    const quickly = (id: string) => fakeStep(id, [], async () => ({}));
    const resumed = await runInstall({
      steps: [quickly('quick'), quickly('a'), quickly('b')],
      store: h.store,
      aws,
      emit: (e) => again.push(e),
    });
    expect(resumed.ok).toBe(true);
    expect(outcomeOf(again, 'quick')).toBe('verified');
    expect(outcomeOf(again, 'a')).toBe('done');
    expect(outcomeOf(again, 'b')).toBe('done');
  });

  test('a signal aborted before the run starts runs nothing', async () => {
    const h = await harness();
    let created = 0;
    const result = await runInstall({
      steps: [fakeStep('a', [], async () => (created++, {}))],
      store: h.store,
      aws,
      emit: h.emit,
      signal: AbortSignal.abort(new Error('interrupted')),
    });
    expect(result).toEqual({ ok: false, stoppedBy: 'interrupt', failed: [] });
    expect(created).toBe(0);
  });
});

describe('resume', () => {
  test('complete steps are verified and skipped; a failed check or an unfinished step runs again', async () => {
    const h = await harness();
    const calls: Record<string, number> = { a: 0, b: 0, c: 0 };
    const verified: unknown[] = [];
    let cFails = true;
    const steps = [
      fakeStep('a', [], async () => (calls.a!++, { vpcId: 'vpc-1' }), {
        verify: async (_ctx, outputs) => (verified.push(outputs), true),
      }),
      // b's resource was deleted behind our back since the first run.
      fakeStep('b', [], async () => (calls.b!++, { roleName: 'role-1' }), { verify: async () => false }),
      fakeStep('c', ['a', 'b'], async () => {
        calls.c!++;
        if (cFails) throw new Error('throttled for too long');
        return { ok: true };
      }),
    ];

    const first = await runInstall({ steps, store: h.store, aws, emit: h.emit });
    expect(first).toMatchObject({ ok: false, stoppedBy: 'failure' });
    expect(calls).toEqual({ a: 1, b: 1, c: 1 });

    cFails = false;
    const again: EngineEvent[] = [];
    const second = await runInstall({ steps, store: h.store, aws, emit: (e) => again.push(e) });

    expect(second).toEqual({ ok: true, failed: [] });
    expect(calls).toEqual({ a: 1, b: 2, c: 2 });
    expect(verified).toEqual([{ vpcId: 'vpc-1' }]);
    expect(outcomeOf(again, 'a')).toBe('verified');
    expect(outcomeOf(again, 'b')).toBe('done');
    expect(outcomeOf(again, 'c')).toBe('done');
    const doc = await h.onDisk();
    expect(Object.values(doc.steps).map((s) => s.status)).toEqual(['complete', 'complete', 'complete']);
    expect(doc.steps.c?.error).toBeUndefined();
  });
});

describe('teardown', () => {
  test('dependents go first, independent steps together, each destroying what was recorded and found', async () => {
    const h = await harness();
    const spans: Record<string, Span> = {};
    const received: Record<string, ResourceRef[]> = {};
    const destroyer = (id: string, ms: number) => async (ctx: StepContext, resources: ResourceRef[]) => {
      const start = ctx.clock.now();
      received[id] = resources;
      await ctx.clock.sleep(ms, ctx.signal);
      spans[id] = { start, end: ctx.clock.now() };
    };
    const steps = [
      fakeStep('a', [], async (ctx) => (await ctx.record({ type: 'AWS::EC2::VPC', id: 'vpc-1', name: 'gitlab-vpc' }), {}), {
        // What AWS holds: the recorded VPC again, plus a gateway a crash kept out of the state file.
        discover: async () => [
          { type: 'AWS::EC2::VPC', id: 'vpc-1' },
          { type: 'AWS::EC2::InternetGateway', id: 'igw-1' },
        ],
        destroy: destroyer('a', 80_000),
      }),
      fakeStep('b', [], async (ctx) => (await ctx.record({ type: 'AWS::IAM::Role', id: 'role-1' }), {}), {
        destroy: destroyer('b', 80_000),
      }),
      fakeStep('c', ['a', 'b'], async (ctx) => (await ctx.record({ type: 'AWS::EC2::Subnet', id: 'subnet-1' }), {}), {
        destroy: destroyer('c', 40_000),
      }),
    ];
    expect((await runInstall({ steps, store: h.store, aws, emit: h.emit })).ok).toBe(true);

    const events: EngineEvent[] = [];
    const session = onSandboxClock();
    const result = await runTeardown({ steps, store: h.store, aws: session, emit: (e) => events.push(e) });

    expect(result).toEqual({ ok: true, failed: [] });
    // c (which needs a and b) goes first; a and b then side by side.
    expect(spans).toEqual({ c: { start: 0, end: 40_000 }, a: { start: 40_000, end: 120_000 }, b: { start: 40_000, end: 120_000 } });
    expect(received.a).toEqual([
      { type: 'AWS::EC2::VPC', id: 'vpc-1', name: 'gitlab-vpc' },
      { type: 'AWS::EC2::InternetGateway', id: 'igw-1' },
    ]);
    expect(received.b).toEqual([{ type: 'AWS::IAM::Role', id: 'role-1' }]);
    expect(received.c).toEqual([{ type: 'AWS::EC2::Subnet', id: 'subnet-1' }]);
    expect(finishes(events).map((f) => f.outcome)).toEqual(['destroyed', 'destroyed', 'destroyed']);
    expect(events[0]).toMatchObject({ type: 'run-started', operation: 'teardown' });

    const doc = await h.onDisk();
    expect(doc.resources).toEqual([]);
    expect(Object.fromEntries(Object.entries(doc.steps).map(([id, s]) => [id, s.status]))).toEqual({
      a: 'destroyed',
      b: 'destroyed',
      c: 'destroyed',
    });
  });

  test('what a destroy finds not to be ours is handed back by the run and no longer tracked; the step still ends destroyed', async () => {
    const h = await harness();
    const theirs = { type: 'AWS::IAM::Role', id: 'their-role', name: 'their-role' };
    const steps = [
      fakeStep('a', [], async (ctx) => (await ctx.record(theirs), await ctx.record({ type: 'AWS::IAM::Role', id: 'our-role' }), {}), {
        destroy: async (ctx: StepContext) => {
          await ctx.forget({ type: 'AWS::IAM::Role', id: 'our-role' });
          return { retained: [], foreign: [{ ...theirs, reason: 'not tagged gitlab-aws:deployment=gitlab' }] };
        },
      }),
    ];
    expect((await runInstall({ steps, store: h.store, aws, emit: h.emit })).ok).toBe(true);

    const result = await runTeardown({ steps, store: h.store, aws, emit: h.emit });
    expect(result).toEqual({ ok: true, failed: [], foreign: [{ ...theirs, reason: 'not tagged gitlab-aws:deployment=gitlab' }] });
    const doc = await h.onDisk();
    expect(doc.resources).toEqual([]);
    expect(doc.steps.a?.status).toBe('destroyed');
  });

  test('a step whose dependent fails to tear down is left alone', async () => {
    const h = await harness();
    let vpcDestroyed = false;
    const steps = [
      fakeStep('vpc', [], async () => ({}), { destroy: async () => void (vpcDestroyed = true) }),
      fakeStep('subnets', ['vpc'], async (ctx) => (await ctx.record({ type: 'AWS::EC2::Subnet', id: 'subnet-1' }), {}), {
        destroy: async () => {
          throw new Error('DependencyViolation: subnet-1 has dependencies');
        },
      }),
    ];
    await runInstall({ steps, store: h.store, aws, emit: h.emit });
    const result = await runTeardown({ steps, store: h.store, aws, emit: h.emit });

    expect(result).toEqual({
      ok: false,
      stoppedBy: 'failure',
      failed: [{ step: 'subnets', error: 'DependencyViolation: subnet-1 has dependencies' }],
    });
    expect(vpcDestroyed).toBe(false);
    // What could not be deleted is still remembered, so a second teardown can finish the job.
    expect((await h.onDisk()).resources.map((r) => r.id)).toEqual(['subnet-1']);
  });
});

describe('graph checks', () => {
  test.each([
    ['a cycle', [fakeStep('a', ['b'], async () => ({})), fakeStep('b', ['a'], async () => ({}))], /cycle/],
    ['a self-need', [fakeStep('a', ['a'], async () => ({}))], /cycle through 'a'/],
    ['an unknown need', [fakeStep('a', ['nope'], async () => ({}))], /step 'a' needs unknown step 'nope'/],
  ])('%s is refused before anything runs', async (_name, steps, message) => {
    const h = await harness();
    let created = 0;
    const counted = steps.map((s) => ({ ...s, create: async () => (created++, {}) }));
    const ok = fakeStep('independent', [], async () => (created++, {}));

    await expect(runInstall({ steps: [ok, ...counted], store: h.store, aws, emit: h.emit })).rejects.toThrow(message);
    await expect(runTeardown({ steps: [ok, ...counted], store: h.store, aws, emit: h.emit })).rejects.toThrow(message);
    expect(created).toBe(0);
    expect(h.events).toEqual([]);
    expect((await h.onDisk()).steps).toEqual({});
  });

  test('waves group steps that can run side by side, whatever order they are listed in', () => {
    const nodes = [
      { id: 'd', title: 'D', needs: ['c', 'b'], minutes: 1 },
      { id: 'c', title: 'C', needs: ['a'], minutes: 2 },
      { id: 'a', title: 'A', needs: [], minutes: 3 },
      { id: 'b', title: 'B', needs: [], minutes: 10 },
    ];
    expect(waves(nodes).map((wave) => wave.map((n) => n.id))).toEqual([['a', 'b'], ['c'], ['d']]);
    // a→c→d takes 6 minutes, b→d takes 11: the install cannot beat the longer chain.
    expect(criticalPathMinutes(nodes)).toBe(11);
    expect(criticalPathMinutes([])).toBe(0);
    expect(waves([])).toEqual([]);
  });
});

describe('idempotency tokens', () => {
  test('ctx.token is stable per install, step and name, and fits every AWS token field', async () => {
    const first = await harness('install-1');
    const other = await harness('install-2');
    const vpc = fakeStep('vpc', [], async () => ({}));
    const subnets = fakeStep('subnets', [], async () => ({}));
    const signal = new AbortController().signal;
    const ctx = (h: typeof first, step: EngineStep) => makeContext(step, { store: h.store, aws, emit: h.emit }, signal);

    const token = ctx(first, vpc).token('vpc');
    // A new context (a resume) must replay the same token, or AWS would create a second VPC.
    expect(ctx(first, vpc).token('vpc')).toBe(token);
    expect(ctx(first, vpc).token('igw')).not.toBe(token);
    expect(ctx(first, subnets).token('vpc')).not.toBe(token);
    expect(ctx(other, vpc).token('vpc')).not.toBe(token);
    // EC2 ClientToken: at most 64 ASCII characters.
    expect(token.length).toBeLessThanOrEqual(64);
    expect(token).toMatch(/^[\x21-\x7e]+$/);
  });
});

describe('token generations', () => {
  /** A step that records the token of each create; `fail` makes the create die after using it (AWS made it, we did not record). */
  function tokenStep(world: { tokens: string[]; fail: boolean; present: boolean }) {
    return fakeStep(
      'nat',
      [],
      async (ctx) => {
        world.tokens.push(ctx.token('nat-a'));
        world.present = true;
        if (world.fail) throw new Error('killed right after AWS created it');
        return {};
      },
      { verify: async () => world.present },
    );
  }

  test('a token is replayed until its resource is known gone: by a teardown, a failed verify, or the step renewing it', async () => {
    const h = await harness();
    const world = { tokens: [] as string[], fail: true, present: false };
    const steps = [tokenStep(world)];
    const run = (store: StateStore) => runInstall({ steps, store, aws, emit: h.emit });

    expect((await run(h.store)).ok).toBe(false);
    world.fail = false;
    // The resume after "created but not recorded" must replay the same token, so AWS returns that resource.
    expect((await run(h.store)).ok).toBe(true);
    expect(world.tokens[1]).toBe(world.tokens[0]);

    // Still there: verified, no create, no new token.
    await run(h.store);
    expect(world.tokens).toHaveLength(2);

    // Deleted by hand: verify notices, and the create that follows uses a new token.
    world.present = false;
    await run(h.store);
    expect(world.tokens).toHaveLength(3);
    expect(world.tokens[2]).not.toBe(world.tokens[1]);

    // A teardown advances it before it deletes anything; a later install never replays it.
    expect((await runTeardown({ steps, store: h.store, aws, emit: h.emit })).ok).toBe(true);
    await run(h.store);
    expect(world.tokens).toHaveLength(4);
    expect(world.tokens.slice(0, 3)).not.toContain(world.tokens[3]);

    // The generations live in the state file: a new process computes the same tokens.
    const reread = new StateStore(h.file, (await readState(h.file))!);
    const ctx = (store: StateStore) => makeContext(steps[0]!, { store, aws, emit: h.emit }, new AbortController().signal);
    expect(ctx(reread).token('nat-a')).toBe(world.tokens[3]);

    // The step that sees one resource gone renews that token alone.
    const other = ctx(h.store).token('nat-b');
    await ctx(h.store).renewToken('nat-a');
    expect(ctx(h.store).token('nat-a')).not.toBe(world.tokens[3]);
    expect(ctx(h.store).token('nat-b')).toBe(other);
    expect((await h.onDisk()).tokens).toEqual({ nat: 2, 'nat/nat-a': 1 });
  });

  test('a state file without generations keeps the tokens it had', async () => {
    const h = await harness('install-1');
    const step = fakeStep('vpc', [], async () => ({}));
    const token = makeContext(step, { store: h.store, aws, emit: h.emit }, new AbortController().signal).token('vpc');
    const { createHash } = await import('node:crypto');
    expect(token).toBe(createHash('sha256').update('install-1/vpc/vpc').digest('hex').slice(0, 32));
  });
});

/** Two typed steps as the guide's are written: a VPC, and subnets that need it. */
function typedSteps(log: { vpcCreates: number; subnetCreates: number; subnetVerifies: number; vpcId: string; seenVpc: string[] }) {
  const vpc = defineStep({
    id: 'vpc',
    title: 'VPC',
    needs: [],
    minutes: 1,
    outputs: z.object({ vpcId: z.string(), cidrBlock: z.string() }),
    resources: () => [],
    async create() {
      log.vpcCreates++;
      return { vpcId: log.vpcId, cidrBlock: '10.0.0.0/16' };
    },
    verify: async (_ctx, outputs) => outputs.vpcId === log.vpcId,
    discover: async () => [],
    destroy: async () => {},
  });
  const subnets = defineStep({
    id: 'subnets',
    title: 'Subnets',
    needs: [vpc],
    minutes: 1,
    outputs: z.object({ subnetIds: z.array(z.string()) }),
    resources: () => [],
    async create(ctx) {
      log.subnetCreates++;
      const { vpcId } = ctx.output('vpc');
      expectTypeOf(vpcId).toEqualTypeOf<string>();
      log.seenVpc.push(vpcId);
      return { subnetIds: [`subnet-in-${vpcId}`] };
    },
    async verify() {
      log.subnetVerifies++;
      return true;
    },
    discover: async () => [],
    destroy: async () => {},
  });
  return [vpc, subnets] as const;
}

describe('the step contract', () => {
  test('ctx.output compiles only for the steps named in needs', () => {
    const vpc = typedSteps({ vpcCreates: 0, subnetCreates: 0, subnetVerifies: 0, vpcId: 'vpc-1', seenVpc: [] })[0];
    const reader = defineStep({
      id: 'reader',
      title: 'Reader',
      needs: [vpc],
      minutes: 0,
      outputs: z.object({}),
      resources: () => [],
      async create(ctx) {
        expectTypeOf(ctx.output('vpc')).toEqualTypeOf<{ vpcId: string; cidrBlock: string }>();
        // @ts-expect-error 'subnets' is not among this step's needs, so reading it does not compile
        ctx.output('subnets');
        return {};
      },
      discover: async () => [],
      destroy: async () => {},
    });
    expect(reader.needs).toEqual(['vpc']);
  });

  test("outputs that no longer match the step's schema make it run again, instead of crashing a later step", async () => {
    const h = await harness();
    const log = { vpcCreates: 0, subnetCreates: 0, subnetVerifies: 0, vpcId: 'vpc-1', seenVpc: [] as string[] };
    const steps = typedSteps(log);
    expect((await runInstall({ steps, store: h.store, aws, emit: h.emit })).ok).toBe(true);

    // An older version, a hand edit or a bug left the VPC's outputs in another shape.
    const store = await h.tamper((doc) => {
      doc.steps.vpc!.outputs = { VpcId: 'vpc-1' };
    });
    const again: EngineEvent[] = [];
    const resumed = await runInstall({ steps, store, aws, emit: (e) => again.push(e) });

    expect(resumed).toEqual({ ok: true, failed: [] });
    expect(outcomeOf(again, 'vpc')).toBe('done');
    expect(again).toContainEqual({
      type: 'step-progress',
      step: 'vpc',
      message:
        "the state file's outputs of this step do not match (vpcId: Invalid input: expected string, received undefined); checking it again",
      atMs: expect.any(Number),
    });
    expect(log.vpcCreates).toBe(2);
    expect((await h.onDisk()).steps.vpc?.outputs).toEqual({ vpcId: 'vpc-1', cidrBlock: '10.0.0.0/16' });
    // The same VPC came back, so the subnets built on it stand: checked, not redone.
    expect(outcomeOf(again, 'subnets')).toBe('verified');
    expect(log.subnetCreates).toBe(1);
  });

  test('a step whose needed step was re-created with other outputs runs create again, not verify', async () => {
    const h = await harness();
    const log = { vpcCreates: 0, subnetCreates: 0, subnetVerifies: 0, vpcId: 'vpc-1', seenVpc: [] as string[] };
    const steps = typedSteps(log);
    expect((await runInstall({ steps, store: h.store, aws, emit: h.emit })).ok).toBe(true);

    // The VPC was deleted behind our back; the resume makes a new one, with a new ID.
    log.vpcId = 'vpc-2';
    const again: EngineEvent[] = [];
    const resumed = await runInstall({ steps, store: h.store, aws, emit: (e) => again.push(e) });

    expect(resumed).toEqual({ ok: true, failed: [] });
    expect(outcomeOf(again, 'vpc')).toBe('done');
    expect(outcomeOf(again, 'subnets')).toBe('done');
    expect(again).toContainEqual({
      type: 'step-progress',
      step: 'subnets',
      message: 'vpc changed since this step completed; checking it again',
      atMs: expect.any(Number),
    });
    expect(log.subnetVerifies).toBe(0);
    expect(log.seenVpc).toEqual(['vpc-1', 'vpc-2']);
    expect((await h.onDisk()).steps.subnets?.outputs).toEqual({ subnetIds: ['subnet-in-vpc-2'] });

    // Nothing changed since: a third run takes both as complete.
    const third: EngineEvent[] = [];
    await runInstall({ steps, store: h.store, aws, emit: (e) => third.push(e) });
    expect(finishes(third).map((f) => f.outcome)).toEqual(['verified', 'verified']);
    expect(log.subnetVerifies).toBe(1);
  });

  test("reading a needed step's outputs that do not match its schema fails with what is wrong, not deep inside a step", async () => {
    const h = await harness();
    const [vpc, subnets] = typedSteps({ vpcCreates: 0, subnetCreates: 0, subnetVerifies: 0, vpcId: 'vpc-1', seenVpc: [] });
    await h.store.update((doc) => {
      doc.steps.vpc = { status: 'complete', outputs: { vpcId: ['vpc-1'] } };
    });
    const ctx = makeContext(subnets, { store: h.store, aws, emit: h.emit, steps: [vpc, subnets] }, new AbortController().signal);
    expect(() => ctx.output('vpc')).toThrow(
      "step 'subnets' needs 'vpc', whose outputs in the state file do not match (vpcId: Invalid input: expected string, received array)",
    );
  });

  test('a step handing on outputs that break its own schema fails at once, naming the field', async () => {
    const h = await harness();
    const broken = defineStep({
      id: 'vpc',
      title: 'VPC',
      needs: [],
      minutes: 1,
      outputs: z.object({ vpcId: z.string() }),
      resources: () => [],
      create: async () => JSON.parse('{"vpcId": null}') as { vpcId: string },
      discover: async () => [],
      destroy: async () => {},
    });
    const result = await runInstall({ steps: [broken], store: h.store, aws, emit: h.emit });

    expect(result.ok).toBe(false);
    expect(result.failed[0]?.error).toMatch(/vpcId/);
    expect((await h.onDisk()).steps.vpc?.status).toBe('failed');
  });
});

import type { AwsSession } from '../aws/clients.js';
import type { CallerIdentity } from '../aws/identity.js';
import { requireSshPublicKey } from '../config/compute.js';
import { ConfigError, requireDomain } from '../config/schema.js';
import { ExitError, badInput, type ExitCode } from '../errors.js';
import type { StateDoc } from '../state/schema.js';
import { readState } from '../state/store.js';
import type { Question } from '../ui/host.js';
import { resolveDeployment, type Deployment } from './deployment.js';
import { withLock } from './lock.js';
import { commandLine, type CommandContext } from './options.js';
import { openSession, preflight } from './session.js';
import { checkBeforeBuilding } from '../preflight/index.js';

/** A yes/no, or a typed answer (the deployment's name) that `accepts` judges; `cancelled` is what a refusal says. */
export type Confirmation = Question<boolean> | (Question<string> & { accepts(answer: string): boolean; cancelled?: string });

/** What a command has in hand once preflight passed. */
export interface Ready {
  ctx: CommandContext;
  deployment: Deployment;
  aws: AwsSession;
  identity: CallerIdentity;
}

/** A command that talks to AWS, as the stages it fills in; the pipeline runs them in order. */
export interface CommandPipeline {
  /** Refusals that need only the configuration and the state file (e.g. resume without one). */
  check?(deployment: Deployment): void;
  /** Say what is about to happen (the plan, the teardown's extent; it may ask AWS first). */
  present?(ready: Ready): void | Promise<void>;
  /**
   * The answers not given yet (the wizard): those that need no AWS (the deployment's name, the
   * region) before the session opens, the rest with it. Each returns the deployment to go on with.
   */
  answer?: {
    beforeSession?(ctx: CommandContext, deployment: Deployment): Promise<Deployment>;
    afterSession?(ctx: CommandContext, deployment: Deployment, aws: AwsSession): Promise<Deployment>;
  };
  /** The confirmation; refused (exit 2) when not accepted; none when there is nothing to confirm. */
  confirm?(ready: Ready): Confirmation | undefined;
  /** Whether the command creates resources: preflight then checks what creating needs (the zones). */
  builds?: boolean;
  /** The lock's holder name (`gitlab-aws install`); absent for commands that only read. */
  lock?: string;
  /** The work, with the state file re-read (under the lock when there is one). */
  run(ready: Ready, state: StateDoc | undefined): Promise<ExitCode>;
}

/**
 * install, resume, teardown, status --discover and root-password, one way: resolve the
 * configuration, open the session, preflight, present, confirm through the host, lock, re-read
 * the state, run. Everything before the lock is free to refuse: nothing has been written yet.
 */
export async function runPipeline(ctx: CommandContext, pipeline: CommandPipeline): Promise<ExitCode> {
  // A command that locks writes the state directory; a sandbox run writes its world there too.
  let deployment = await resolveDeployment(ctx.options, {
    writes: Boolean(pipeline.lock) || ctx.options.sandbox,
    answering: Boolean(pipeline.answer),
  });
  pipeline.check?.(deployment);
  if (pipeline.answer?.beforeSession) deployment = await pipeline.answer.beforeSession(ctx, deployment);
  const aws = await openSession(ctx.options, deployment.config.region);
  try {
    if (pipeline.answer?.afterSession) deployment = await pipeline.answer.afterSession(ctx, deployment, aws);
    if (pipeline.builds) answersNeeded(deployment);
    const ready: Ready = {
      ctx,
      deployment,
      aws,
      identity: await preflight(aws, zonesToCheck(ctx, pipeline, deployment), { profile: ctx.options.profile }),
    };
    // What only AWS can answer about building these answers, before anything is created.
    if (pipeline.builds) await checkBeforeBuilding(ready);
    ctx.host.notify({
      level: 'debug',
      code: 'preflight.identity',
      text: `AWS account ${ready.identity.account} as ${ready.identity.arn}, region ${aws.region}`,
      data: ready.identity,
    });
    await pipeline.present?.(ready);
    const question = pipeline.confirm?.(ready);
    const confirmed = question ? accepted(question, await ctx.host.ask<boolean | string>(question as Question<boolean | string>)) : true;
    // A host that could not ask refuses here, naming every question, before anything changes.
    ctx.host.settle();
    if (!confirmed) throw new ExitError(2, (question && 'cancelled' in question && question.cancelled) || 'cancelled: nothing was changed');
    const work = async () => pipeline.run(ready, await readState(deployment.paths.file));
    // Re-read under the lock: another run may have changed the file since we looked.
    return pipeline.lock ? await withLock(ctx, deployment.paths.lock, pipeline.lock, work) : await work();
  } finally {
    await aws.close();
  }
}

/** On real AWS the domain and the SSH key have no default: an install without one is refused before anything. */
function answersNeeded(deployment: Deployment): void {
  try {
    requireDomain(deployment.config);
    // The sandbox derives a key per deployment; on AWS the operator's own is the only way in.
    requireSshPublicKey(deployment.config);
  } catch (err) {
    if (err instanceof ConfigError) throw badInput(err.message, err.hint ?? 'pass --domain');
    throw err;
  }
}

/** The zones preflight checks: those of a command that builds, with how to start over if installed. */
function zonesToCheck(ctx: CommandContext, pipeline: CommandPipeline, deployment: Deployment) {
  if (!pipeline.builds) return { wanted: [] };
  const wanted = deployment.config.availabilityZones;
  return deployment.state ? { wanted, teardown: commandLine(ctx.options, 'teardown') } : { wanted };
}

function accepted(question: Confirmation, answer: boolean | string): boolean {
  return 'accepts' in question ? question.accepts(String(answer)) : answer === true;
}

import { createAwsSession, type AwsSession } from '../aws/clients.js';
import { resolveRegion } from '../aws/region.js';
import { callerIdentity } from '../aws/identity.js';
import { buildInstallConfig, ConfigError, DEPLOYMENT_NAME, type ConfigFile, type InstallConfig } from '../config/schema.js';
import { readConfigFile } from '../config/file.js';
import { GUIDE_REGION } from '../config/regions.js';
import { badInput, EXIT, ExitError, type ExitCode } from '../errors.js';
import { runInstall, runTeardown, type RunResult } from '../engine/run.js';
import type { EventSink } from '../engine/events.js';
import { openRunLog } from '../state/log.js';
import type { StateStore } from '../state/store.js';
import { GUIDE_STEPS } from '../steps/index.js';
import { createRenderer, renderMode } from '../ui/progress.js';
import { DeploymentLock } from '../state/lock.js';
import type { StateDoc } from '../state/schema.js';
import { readState, statePaths } from '../state/store.js';
import { line, paint, type Io } from '../ui/io.js';

/** The options every command takes (see cli.ts). */
export interface GlobalOptions {
  deployment: string;
  region?: string;
  profile?: string;
  stateDir: string;
  sandbox: boolean;
  config?: string;
  yes: boolean;
  json: boolean;
  verbose: boolean;
  color: boolean;
  /** install / plan answers given as flags. */
  sshCidr?: string;
  sshFromAnywhere?: boolean;
  bucketPrefix?: string;
  /** teardown: delete buckets that hold data too. */
  deleteData?: boolean;
}

/** What a command runs with: its options, the terminal, and the signal an interrupt raises. */
export interface CommandContext {
  options: GlobalOptions;
  io: Io;
  signal: AbortSignal;
}

export interface Deployment {
  paths: ReturnType<typeof statePaths>;
  state: StateDoc | undefined;
  config: InstallConfig;
}

/**
 * Everything a command can check before touching anything: the deployment name, the config file,
 * the state file (refused if corrupted or newer), sandbox vs real, the region and the network.
 * Every problem here is an exit-2 one-liner, and nothing has been written yet.
 */
export async function loadDeployment(ctx: CommandContext): Promise<Deployment> {
  const { options } = ctx;
  if (!DEPLOYMENT_NAME.test(options.deployment)) {
    throw badInput(
      `deployment name '${options.deployment}' is invalid`,
      'use 1-20 lowercase letters, digits or hyphens, starting with a letter (e.g. --deployment gitlab)',
    );
  }
  try {
    const file = options.config ? await readConfigFile(options.config) : undefined;
    const paths = statePaths(options.stateDir, options.deployment);
    const state = await readState(paths.file);
    if (state) {
      if (state.sandbox !== options.sandbox) {
        throw badInput(
          `deployment '${options.deployment}' in ${options.stateDir} was built ${state.sandbox ? 'in the sandbox' : 'in a real AWS account'}`,
          state.sandbox ? 'add --sandbox' : 'drop --sandbox',
        );
      }
      if (options.region && options.region !== state.config.region) {
        throw badInput(
          `deployment '${options.deployment}' lives in ${state.config.region}, not ${options.region}`,
          `drop --region, or use another --deployment for a second installation`,
        );
      }
      if (file || answersGiven(options)) {
        const wanted = buildInstallConfig({
          deployment: options.deployment,
          region: state.config.region,
          file: { ...stateAnswers(state.config), ...file },
          flags: answers(options),
        });
        if (JSON.stringify(wanted) !== JSON.stringify(state.config)) {
          throw badInput(
            `--config differs from the configuration deployment '${options.deployment}' was installed with`,
            'changing an existing deployment is not supported yet; tear it down first or use another --deployment',
          );
        }
      }
      return { paths, state, config: state.config };
    }
    // --region, then the config file, then the SDK's own sources (AWS_REGION, the profile).
    const region =
      options.region ?? file?.region ?? (await resolveRegion(undefined, options.profile)) ?? (options.sandbox ? GUIDE_REGION : undefined);
    if (!region) {
      throw badInput('no AWS region given', 'pass --region (e.g. --region us-west-2), set AWS_REGION, or set one in your AWS profile');
    }
    const config = buildInstallConfig({ deployment: options.deployment, region, ...(file ? { file } : {}), flags: answers(options) });
    return { paths, state, config };
  } catch (err) {
    if (err instanceof ConfigError) throw badInput(err.message, 'fix the value and run the command again; nothing was created');
    throw err;
  }
}

function answers(options: GlobalOptions) {
  return { sshCidr: options.sshCidr, sshFromAnywhere: options.sshFromAnywhere, bucketPrefix: options.bucketPrefix };
}

function answersGiven(options: GlobalOptions): boolean {
  return Object.values(answers(options)).some((v) => v !== undefined);
}

/** An installed deployment's answers in config-file form, so a partial --config or flag compares fairly. */
function stateAnswers(config: InstallConfig): ConfigFile {
  const { deployment: _d, region: _r, availabilityZones, ...rest } = config;
  const [first, second] = availabilityZones;
  return { ...rest, ...(first && second ? { availabilityZones: [first, second] } : {}) };
}

export async function openSession(ctx: CommandContext, region: string): Promise<AwsSession> {
  return createAwsSession({
    region,
    ...(ctx.options.profile ? { profile: ctx.options.profile } : {}),
    ...(ctx.options.sandbox ? { sandbox: { stateDir: ctx.options.stateDir } } : {}),
  });
}

/** Who we are in AWS; also the check that credentials work before anything is created. */
export async function preflight(aws: AwsSession): Promise<{ account: string; arn: string }> {
  try {
    return await callerIdentity(aws);
  } catch (err) {
    throw badInput(
      `cannot use AWS credentials: ${(err as Error).message.split('\n')[0]}`,
      'configure credentials (aws configure, aws sso login, or AWS_PROFILE), pass --profile, or rehearse with --sandbox',
    );
  }
}

export async function withLock<T>(ctx: CommandContext, deployment: Deployment, command: string, work: () => Promise<T>): Promise<T> {
  const lock = await DeploymentLock.acquire(deployment.paths.lock, command, (stale) => {
    line(
      ctx.io.stderr,
      paint(ctx.io, 'yellow', `Taking over a stale lock left by PID ${stale.pid} (${stale.command}), which is no longer running.`),
    );
  });
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

/** The command that continues this deployment, with only the options that differ from defaults. */
export function resumeCommand(options: GlobalOptions, verb = 'resume'): string {
  const parts = ['gitlab-aws', verb];
  if (options.deployment !== 'gitlab') parts.push('--deployment', options.deployment);
  if (options.stateDir !== './.gitlab-aws') parts.push('--state-dir', options.stateDir);
  if (options.profile) parts.push('--profile', options.profile);
  if (options.sandbox) parts.push('--sandbox');
  return parts.join(' ');
}

export async function confirm(ctx: CommandContext, question: string): Promise<void> {
  if (ctx.options.yes) return;
  if (!ctx.io.interactive) {
    throw badInput('refusing to change AWS without confirmation', 'run it in a terminal to answer the prompt, or pass --yes');
  }
  const { confirm: ask } = await import('@inquirer/prompts');
  const yes = await ask({ message: question, default: false }, { output: ctx.io.stdout as never, signal: ctx.signal });
  if (!yes) throw new ExitError(2, 'cancelled: nothing was changed');
}

/**
 * Runs the engine with its events going to the terminal (live list, plain lines or NDJSON) and to
 * the deployment's log file; on failure prints what failed and the command that continues.
 */
export async function execute(
  ctx: CommandContext,
  deployment: Deployment,
  aws: AwsSession,
  store: StateStore,
  operation: 'install' | 'teardown',
): Promise<RunResult> {
  const { options, io } = ctx;
  const renderer = createRenderer(renderMode(io, options.json), io, aws.clock, options.verbose);
  const log = await openRunLog(deployment.paths.log, `${operation}${options.sandbox ? ' --sandbox' : ''}`);
  const emit: EventSink = (event) => {
    renderer.sink(event);
    log.write(event);
  };
  const run = operation === 'install' ? runInstall : runTeardown;
  let result: RunResult;
  try {
    result = await run({
      steps: GUIDE_STEPS,
      store,
      aws,
      emit,
      signal: ctx.signal,
      teardown: { deleteData: Boolean(options.deleteData) },
    });
  } finally {
    renderer.close();
    await log.close();
  }
  if (!result.ok && !options.json) {
    for (const failure of result.failed) {
      line(io.stderr, paint(io, 'red', `✖ ${failure.step}: ${failure.error}`));
      if (failure.hint) line(io.stderr, `  fix: ${failure.hint}`);
    }
    const again = operation === 'install' ? resumeCommand(options) : resumeCommand(options, 'teardown');
    line(io.stderr, `State saved in ${deployment.paths.file}. Continue with: ${again}`);
  }
  return result;
}

export function exitCodeOf(result: RunResult): ExitCode {
  if (result.ok) return EXIT.ok;
  return result.stoppedBy === 'interrupt' ? EXIT.interrupted : EXIT.stepFailed;
}

import type { AwsSession } from '../aws/clients.js';
import type { EventSink } from '../engine/events.js';
import { runInstall, runTeardown, type RunResult } from '../engine/run.js';
import { EXIT, errorMessage, type ExitCode } from '../errors.js';
import { reportLastRun } from '../report/index.js';
import { openRunLog } from '../state/log.js';
import type { StateStore } from '../state/store.js';
import { GUIDE_STEPS } from '../steps/index.js';
import type { Deployment } from './deployment.js';
import { commandLine, type CommandContext } from './options.js';

/**
 * Runs the engine, its events going to the host (live list, plain lines, NDJSON, a record) and to
 * the deployment's log file; on failure says what failed and the command that continues.
 */
export async function execute(
  ctx: CommandContext,
  deployment: Deployment,
  aws: AwsSession,
  store: StateStore,
  operation: 'install' | 'teardown',
): Promise<RunResult> {
  const { options, host } = ctx;
  const progress = host.progress({ simulated: aws.clock.simulated });
  const log = await openRunLog(deployment.paths.log, `${operation}${options.sandbox ? ' --sandbox' : ''}`);
  const emit: EventSink = (event) => {
    progress.sink(event);
    log.write(event);
  };
  const run = operation === 'install' ? runInstall : runTeardown;
  const again = commandLine(options, operation === 'install' ? 'resume' : 'teardown');
  const stopped = (stoppedBy: RunResult['stoppedBy'] | 'quit') =>
    host.notify({
      level: 'error',
      code: 'run.stopped',
      text: `State saved in ${deployment.paths.file}. Continue with: ${again}`,
      data: { stateFile: deployment.paths.file, resume: again, stoppedBy },
    });
  // Quitting at once loses nothing recorded (every record is written atomically as it happens),
  // so the operator still learns how to continue.
  const forget = ctx.atQuit(() => {
    progress.close();
    stopped('quit');
  });
  let result: RunResult;
  try {
    result = await run({
      steps: GUIDE_STEPS,
      store,
      aws,
      emit,
      signal: ctx.signal,
      teardown: { deleteData: Boolean(options.deleteData), skipFinalSnapshot: Boolean(options.skipFinalSnapshot) },
    });
  } finally {
    forget();
    progress.close();
    await log.close();
  }
  await writeRunReport(ctx, deployment, operation);
  if (!result.ok) {
    for (const failure of result.failed) {
      host.notify({
        level: 'error',
        code: 'step.failed',
        // --verbose adds AWS's own words (code, message, request ID, HTTP status) on a line of their own.
        text: `✖ ${failure.step}: ${failure.error}${failure.hint ? `\n  fix: ${failure.hint}` : ''}${
          options.verbose && failure.raw ? `\n  aws: ${failure.raw}` : ''
        }`,
        data: failure,
      });
    }
    stopped(result.stoppedBy);
  }
  return result;
}

/** The run's timeline picture, from the log just closed; a report that cannot be written costs a warning, not the run. */
async function writeRunReport(ctx: CommandContext, deployment: Deployment, operation: 'install' | 'teardown'): Promise<void> {
  try {
    const file = await reportLastRun(deployment.paths.log, operation);
    if (file) ctx.host.notify({ level: 'info', code: 'report.written', text: `Timeline of this run: ${file}`, data: { file } });
  } catch (err) {
    ctx.host.notify({ level: 'warn', code: 'report.failed', text: `Could not write the timeline of this run: ${errorMessage(err)}` });
  }
}

export function exitCodeOf(result: RunResult): ExitCode {
  if (result.ok) return EXIT.ok;
  return result.stoppedBy === 'interrupt' ? EXIT.interrupted : EXIT.stepFailed;
}

import { basename, dirname, join } from 'node:path';
import { formatDuration } from '../../aws/clock.js';
import { EXIT, badInput, type ExitCode } from '../../errors.js';
import { RunTimeline } from '../../engine/timeline.js';
import { readRunLog, reportFile, writeReport, type LoggedRun } from '../../report/index.js';
import { DEPLOYMENT_NAME } from '../../config/schema.js';
import { statePaths } from '../../state/store.js';
import { commandLine, type CommandContext } from '../options.js';

export interface ReportOptions {
  run?: string;
  list?: boolean;
  out?: string;
}

/** A run as `--list` shows it and `--json` gives it. */
function summary(run: LoggedRun) {
  const timeline = RunTimeline.of(run.events);
  const outcome = !timeline.steps.length
    ? 'no steps recorded'
    : !timeline.finished
      ? 'no end recorded'
      : timeline.finished.ok
        ? `finished in ${formatDuration(timeline.finished.elapsedMs)}${timeline.simulated ? ' simulated' : ''}`
        : `stopped (${timeline.finished.stoppedBy ?? 'failure'})`;
  return { run: run.index, at: run.at, command: run.command, operation: timeline.operation, outcome, drawable: timeline.steps.length > 0 };
}

/**
 * `report`: the timeline picture of any run the deployment's log holds, drawn by the same function
 * that wrote it at the end of that run. Reads the log only; never calls AWS.
 */
export async function report(ctx: CommandContext, own: ReportOptions): Promise<ExitCode> {
  const { options, host } = ctx;
  // The name becomes a file name in the state directory: only a deployment's name is looked up.
  if (!DEPLOYMENT_NAME.test(options.deployment)) {
    throw badInput(
      `no deployment can be called '${options.deployment}'`,
      'give --deployment as the install was given it, e.g. --deployment gitlab',
    );
  }
  const { log } = statePaths(options.stateDir, options.deployment);
  const runs = await readRunLog(log);
  const listing = commandLine(options, 'report', {}, '--list');
  if (own.list) {
    const rows = runs.map(summary);
    const text = rows.length
      ? [
          `Runs of '${options.deployment}' in ${log}:`,
          ...rows.map((r) => `  ${String(r.run).padStart(3)}  ${r.at.slice(0, 19).replace('T', ' ')}  ${r.command}: ${r.outcome}`),
        ].join('\n')
      : `No runs of '${options.deployment}' are logged in ${options.stateDir}.`;
    host.notify({ level: 'result', code: 'report.runs', text, data: { log, runs: rows } });
    return EXIT.ok;
  }
  if (!runs.length) {
    throw badInput(
      `no runs of '${options.deployment}' are logged in ${options.stateDir}`,
      'give the --deployment and --state-dir of an install that ran',
    );
  }
  const wanted = own.run === undefined ? runs.length : Number(own.run);
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > runs.length) {
    throw badInput(`there is no run ${own.run} in ${log} (it holds runs 1 to ${runs.length})`, `list them with: ${listing}`);
  }
  const run = runs[wanted - 1]!;
  const { operation, drawable } = summary(run);
  if (!drawable) throw badInput(`run ${wanted} (${run.command}) recorded no steps to draw`, `list the runs with: ${listing}`);
  // The latest run of an operation has the standard name; an earlier one its own, so it never passes for the latest.
  const latest = runs.filter((r) => summary(r).operation === operation && summary(r).drawable).at(-1) === run;
  const standard = reportFile(log, operation);
  const file =
    own.out ?? (latest ? standard : join(dirname(standard), basename(standard).replace('-report.svg', `-run${wanted}-report.svg`)));
  await writeReport(file, run);
  host.notify({
    level: 'result',
    code: 'report.written',
    text: `Timeline of run ${wanted} (${run.command}): ${file}`,
    data: { file, run: wanted },
  });
  return EXIT.ok;
}

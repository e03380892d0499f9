import { basename, dirname, join } from 'node:path';
import type { Operation } from '../engine/events.js';
import { writeFileAtomically } from '../state/atomic.js';
import { readRunLog, type LoggedRun } from './runs.js';
import { renderReportSvg } from './svg.js';

export { readRunLog, type LoggedRun } from './runs.js';
export { renderReportSvg } from './svg.js';

/**
 * Where a run's report goes: beside the log, one file per deployment and operation
 * (gitlab-install-report.svg), so the state directory holds the latest picture of each, not
 * one per run; `gitlab-aws report --run <n>` draws any earlier one again from the log.
 */
export function reportFile(logFile: string, operation: Operation): string {
  return join(dirname(logFile), `${basename(logFile, '.log')}-${operation}-report.svg`);
}

export async function writeReport(file: string, run: LoggedRun): Promise<void> {
  await writeFileAtomically(file, renderReportSvg(run));
}

/** The report of the run just logged (the log's last): written at the end of every install and teardown. */
export async function reportLastRun(logFile: string, operation: Operation): Promise<string | undefined> {
  const run = (await readRunLog(logFile)).at(-1);
  if (!run) return undefined;
  const file = reportFile(logFile, operation);
  await writeReport(file, run);
  return file;
}

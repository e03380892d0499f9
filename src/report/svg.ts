import { OUTCOME_TEXT } from '../ui/progress.js';
import { formatDuration } from '../aws/clock.js';
import type { StepOutcome } from '../engine/events.js';
import { RunTimeline, waitLabel, type StepTimes } from '../engine/timeline.js';
import type { LoggedRun } from './runs.js';

const MINUTE_MS = 60_000;
const WIDTH = 1400;
const TITLE_COLUMN = 300;
const AXIS_WIDTH = 640;
const AXIS_LEFT = TITLE_COLUMN + 10;
const NOTE_LEFT = AXIS_LEFT + AXIS_WIDTH + 12;
const ROW = 22;
const TOP = 96;

/** XML text and attribute values: the five characters XML gives meaning to. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

type RowState = StepOutcome | 'unfinished' | 'not-run';

const FILL: Record<RowState, string> = {
  done: '#3b82f6',
  verified: '#9ca3af',
  destroyed: '#3b82f6',
  retained: '#8b5cf6',
  failed: '#dc2626',
  stopped: '#f59e0b',
  unfinished: '#f59e0b',
  'not-run': 'none',
};

const SAID: Record<RowState, string> = {
  ...OUTCOME_TEXT,
  unfinished: 'no end recorded',
  'not-run': 'not run',
};

/** A tick every 1, 2, 5, 10, 15, 30 or 60 minutes: the first that keeps the axis to a dozen ticks. */
function tickMinutes(totalMs: number): number {
  const minutes = totalMs / MINUTE_MS;
  return [1, 2, 5, 10, 15, 30, 60].find((step) => minutes / step <= 12) ?? 120;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The longest waits first: what a step spent its time on. A bare retry on something the step also
 * waited on with a goal ("RDS instance x" inside "RDS instance x available") says nothing more.
 */
function waitsOf(times: StepTimes | undefined): string[] {
  const waits = [...(times?.waits.values() ?? [])];
  return waits
    .filter((w) => w.until !== undefined || !waits.some((other) => other.until !== undefined && other.what === w.what))
    .sort((a, b) => b.waitedMs - a.waitedMs)
    .map(waitLabel);
}

/**
 * The install report: a run's timeline as an SVG, one row per step in the guide's order, a bar
 * from its start to its end on the run's time axis, what it waited for beside it, the critical
 * path outlined, failed and stopped steps coloured and named. Drawn from the run's events alone,
 * so the report written at the end of a run and `gitlab-aws report` later are the same picture.
 */
export function renderReportSvg(run: LoggedRun): string {
  const timeline = RunTimeline.of(run.events);
  const critical = new Set(timeline.criticalPath());
  const elapsedMs = timeline.finished?.elapsedMs ?? timeline.frontierMs;
  const totalMs = Math.max(elapsedMs, timeline.frontierMs, MINUTE_MS);
  const x = (ms: number) => AXIS_LEFT + (ms / totalMs) * AXIS_WIDTH;
  const height = TOP + timeline.steps.length * ROW + 40;
  const operation = timeline.operation === 'install' ? 'install' : 'teardown';
  const when = run.at ? `${run.at.slice(0, 16).replace('T', ' ')} UTC` : 'time unknown';
  const total = `${formatDuration(elapsedMs)}${timeline.simulated ? ' simulated (sandbox)' : ''}`;
  const ending = !timeline.finished
    ? 'no end recorded'
    : timeline.finished.ok
      ? 'finished'
      : `stopped (${timeline.finished.stoppedBy ?? 'failure'})`;
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`,
    `<title>${escapeXml(`gitlab-aws ${operation} of ${timeline.deployment}, ${when}`)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="17" font-weight="bold">${escapeXml(`${timeline.deployment}: ${operation}, ${when}`)}</text>`,
    `<text x="16" y="46">${escapeXml(`${total}, ${ending}. Command: gitlab-aws ${run.command}`)}</text>`,
    legend(),
  ];
  const tick = tickMinutes(totalMs);
  for (let minute = 0; minute * MINUTE_MS <= totalMs; minute += tick) {
    const at = x(minute * MINUTE_MS).toFixed(1);
    out.push(
      `<line x1="${at}" y1="${TOP - 8}" x2="${at}" y2="${TOP + timeline.steps.length * ROW}" stroke="#e5e7eb"/>`,
      `<text x="${at}" y="${TOP - 12}" text-anchor="middle" fill="#6b7280">${minute} min</text>`,
    );
  }
  timeline.steps.forEach((step, i) => {
    const times = timeline.times.get(step.id);
    const state: RowState = times?.outcome ?? (times?.startMs !== undefined ? 'unfinished' : 'not-run');
    const y = TOP + i * ROW;
    const onPath = critical.has(step.id);
    const waits = waitsOf(times);
    const startMs = times?.startMs ?? 0;
    const endMs = times?.endMs ?? times?.nowMs ?? startMs;
    const took = times?.startMs === undefined ? '' : formatDuration(endMs - startMs);
    const tooltip = [
      `${step.title}: ${SAID[state]}${took ? `, ${took}` : ''}${onPath ? ' (critical path)' : ''}`,
      ...(times?.error ? [times.error] : []),
      ...(waits.length ? [`waited for: ${waits.join('; ')}`] : []),
    ].join('\n');
    out.push(
      `<g class="step${onPath ? ' critical' : ''} ${state}" data-step="${escapeXml(step.id)}">`,
      `<title>${escapeXml(tooltip)}</title>`,
    );
    if (i % 2 === 1) out.push(`<rect x="8" y="${y}" width="${WIDTH - 16}" height="${ROW}" fill="#f9fafb"/>`);
    out.push(`<text x="16" y="${y + 15}"${onPath ? ' font-weight="bold"' : ''}>${escapeXml(clip(step.title, 44))}</text>`);
    if (state === 'not-run') out.push(`<text x="${AXIS_LEFT}" y="${y + 15}" fill="#9ca3af">not run</text>`);
    else {
      const left = x(startMs);
      const width = Math.max(2, x(endMs) - left);
      const outline = onPath ? ' stroke="#111827" stroke-width="2"' : '';
      out.push(
        `<rect x="${left.toFixed(1)}" y="${y + 4}" width="${width.toFixed(1)}" height="${ROW - 8}" rx="2" fill="${FILL[state]}"${outline}/>`,
      );
    }
    const mark = state === 'failed' ? '✖ ' : state === 'stopped' || state === 'unfinished' ? '■ ' : onPath ? '◆ ' : '';
    const note = [took, state === 'done' || state === 'destroyed' || state === 'not-run' ? '' : SAID[state], waits.slice(0, 2).join(', ')]
      .concat(waits.length > 2 ? [`+${waits.length - 2} more`] : [])
      .filter(Boolean)
      .join(' · ');
    const color = state === 'failed' ? '#dc2626' : '#374151';
    out.push(`<text x="${NOTE_LEFT}" y="${y + 15}" fill="${color}">${escapeXml(clip(`${mark}${note}`, 62))}</text>`, '</g>');
  });
  out.push('</svg>', '');
  return out.join('\n');
}

function legend(): string {
  const items: Array<[string, string]> = [
    [FILL.done, 'made or removed now'],
    [FILL.verified, 'already done, checked'],
    [FILL.failed, 'failed'],
    [FILL.stopped, 'stopped'],
  ];
  const parts = items.map(
    ([fill, label], i) =>
      `<rect x="${16 + i * 170}" y="58" width="14" height="10" fill="${fill}"/><text x="${36 + i * 170}" y="67">${escapeXml(label)}</text>`,
  );
  parts.push(
    `<rect x="${16 + 4 * 170}" y="58" width="14" height="10" fill="#ffffff" stroke="#111827" stroke-width="2"/>`,
    `<text x="${36 + 4 * 170}" y="67">◆ critical path: the steps whose ends decided the finish</text>`,
  );
  return `<g class="legend">${parts.join('')}</g>`;
}

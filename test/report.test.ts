import { copyFile, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { EngineEvent, RunStep } from '../src/engine/events.js';
import { RunTimeline } from '../src/engine/timeline.js';
import { parseRunLog } from '../src/report/runs.js';
import { escapeXml, renderReportSvg } from '../src/report/svg.js';
import { GUIDE_STEPS } from '../src/steps/index.js';
import { runInProcess, tempDir } from './helpers.js';

/**
 * A small strict reading of XML, enough to know a file is well formed: one root, every tag closed
 * in order, attributes quoted, no stray `<` or `&` in text. Answers the problems found.
 */
function xmlProblems(text: string): string[] {
  const problems: string[] = [];
  const body = text.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  const token = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g;
  for (const m of body.matchAll(token)) {
    const [whole, closing, name, , selfClosing] = m;
    if (whole === '<' || whole.startsWith('&')) {
      problems.push(`stray '${whole}' at ${m.index}`);
      continue;
    }
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}> at ${m.index}`);
    } else {
      if (stack.length === 0) roots += 1;
      if (!selfClosing) stack.push(name!);
    }
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

/** The step ids the report marks on the critical path, top to bottom. */
function criticalSteps(svg: string): string[] {
  return [...svg.matchAll(/<g class="step critical [^"]*" data-step="([^"]+)"/g)].map((m) => m[1]!);
}

describe('the XML check itself', () => {
  test('finds an unclosed tag, a stray ampersand and an unquoted attribute', () => {
    expect(xmlProblems('<svg><g><text>a</text></g></svg>')).toEqual([]);
    expect(xmlProblems('<svg><g></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>R&D</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><rect x=1/></svg>')).not.toEqual([]);
    expect(xmlProblems(`<svg><text>${escapeXml(`<a href="x">R&D's</a>`)}</text></svg>`)).toEqual([]);
  });
});

describe('the install report of a sandbox install', () => {
  let dir: string;
  let install: Awaited<ReturnType<typeof runInProcess>>;
  const svgFile = () => join(dir, 'gitlab-install-report.svg');

  beforeAll(async () => {
    dir = await tempDir();
    install = await runInProcess(['install', '--sandbox', '--yes', '--state-dir', dir]);
  });

  test('is written to the state directory, its path printed, naming every step of the guide', async () => {
    expect(install.code).toBe(0);
    expect(install.stdout).toContain(`Timeline of this run: ${svgFile()}`);
    const svg = await readFile(svgFile(), 'utf8');
    expect(xmlProblems(svg)).toEqual([]);
    expect(GUIDE_STEPS).toHaveLength(26);
    for (const { id, title } of GUIDE_STEPS) {
      expect(svg, title).toContain(`>${escapeXml(title)}</text>`);
      expect(svg, id).toContain(`data-step="${id}"`);
    }
    expect(svg).toMatch(/<text[^>]*>gitlab: install, \d{4}-\d\d-\d\d \d\d:\d\d UTC<\/text>/);
    expect(svg).toMatch(/\d+m\d\ds simulated \(sandbox\), finished/);
    // What the database waited for, in words, beside its bar.
    expect(svg).toMatch(/<text [^>]*>◆ 15m0\ds · RDS instance gitlab-db-ha available<\/text>/);
  });

  test("marks the critical path: from a first step through the database and the image to the install's last end", async () => {
    const svg = await readFile(svgFile(), 'utf8');
    const path = criticalSteps(svg);
    // The guide's long chain: the network, the database (15 min), the base instance, its image, the group.
    expect(path[0]).toBe('vpc');
    expect(path).toEqual(expect.arrayContaining(['rds-postgres', 'base-instance', 'gitlab-ami', 'auto-scaling-group']));
    // A chain: each step on it needs the one before it.
    for (let i = 1; i < path.length; i++) {
      expect(GUIDE_STEPS.find((s) => s.id === path[i])!.needs, path[i]).toContain(path[i - 1]);
    }
    // The cache ran beside the database and ended sooner: not on the path.
    expect(path).not.toContain('elasticache');
  });

  test('the log keeps the new fields: step times on their timelines and waits as data', async () => {
    const runs = parseRunLog(await readFile(join(dir, 'gitlab.log'), 'utf8'));
    const events = runs.at(-1)!.events;
    expect(events[0]).toMatchObject({
      type: 'run-started',
      simulated: true,
      steps: expect.arrayContaining([
        expect.objectContaining({ id: 'rds-postgres', minutes: 15, needs: ['subnets', 'security-groups', 'secrets'] }),
      ]),
    });
    expect(events.find((e) => e.type === 'step-started' && e.step === 'rds-postgres')).toMatchObject({ atMs: expect.any(Number) });
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'step-progress',
        step: 'rds-postgres',
        atMs: expect.any(Number),
        wait: expect.objectContaining({ what: 'RDS instance gitlab-db-ha', until: 'available', typicalMs: 15 * 60_000 }),
      }),
    );
  });

  test('`report` draws the same picture again, for the last run and for an earlier one', async () => {
    const first = await readFile(svgFile(), 'utf8');
    const again = await runInProcess(['report', '--state-dir', dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(svgFile());
    expect(await readFile(svgFile(), 'utf8')).toBe(first);

    // A second run (a resume that verifies every step) becomes the last; the first stays drawable.
    await copyFile(svgFile(), join(dir, 'first.svg'));
    const resume = await runInProcess(['resume', '--sandbox', '--yes', '--state-dir', dir]);
    expect(resume.code).toBe(0);
    const second = await readFile(svgFile(), 'utf8');
    expect(second).not.toBe(first);
    expect(second).toContain('already done');

    const out = join(dir, 'run-1.svg');
    const earlier = await runInProcess(['report', '--run', '1', '--out', out, '--state-dir', dir]);
    expect(earlier.code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(first);
    // Without --out an earlier run gets a name of its own; the latest picture stays the latest.
    expect((await runInProcess(['report', '--run', '1', '--state-dir', dir])).code).toBe(0);
    expect(await readFile(join(dir, 'gitlab-install-run1-report.svg'), 'utf8')).toBe(first);
    expect(await readFile(svgFile(), 'utf8')).toBe(second);

    const list = await runInProcess(['report', '--list', '--state-dir', dir]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ +1 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +install --sandbox: finished in \d+m\d\ds simulated$/m);
    // The resume is logged as what it ran: an install, this time verifying every step.
    expect(list.stdout).toMatch(/^ +2 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +install --sandbox: finished in \d+s simulated$/m);
  });

  test('`report --run` of a run the log does not hold: one line, exit 2, how to list them', async () => {
    const before = (await readdir(dir)).sort();
    const missing = await runInProcess(['report', '--run', '9', '--state-dir', dir]);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        /^error: there is no run 9 in .*gitlab\.log \(it holds runs 1 to \d+\) \(fix: list them with: gitlab-aws report --list --state-dir .*\)$/,
      ),
    ]);
    expect((await readdir(dir)).sort()).toEqual(before);
    expect((await runInProcess(['report', '--run', 'last', '--state-dir', dir])).code).toBe(2);
    // A deployment that never ran has no runs to draw.
    const never = await runInProcess(['report', '--deployment', 'other', '--state-dir', dir]);
    expect(never.code).toBe(2);
    expect(never.stderr).toMatch(/^error: no runs of 'other' are logged in .* \(fix: .*\)\n$/);
    // A name that is no deployment's is refused as every command refuses it, not looked up as a path.
    const odd = await runInProcess(['report', '--deployment', '../gitlab', '--state-dir', dir]);
    expect(odd.code).toBe(2);
    expect(odd.stderr).toMatch(/^error: no deployment can be called '\.\.\/gitlab' \(fix: /);
  });

  test('a teardown writes its own report beside the install', async () => {
    const down = await runInProcess(['teardown', '--sandbox', '--yes', '--state-dir', dir]);
    expect(down.code).toBe(0);
    const file = join(dir, 'gitlab-teardown-report.svg');
    expect(down.stdout).toContain(`Timeline of this run: ${file}`);
    const svg = await readFile(file, 'utf8');
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('gitlab: teardown,');
    for (const { id } of GUIDE_STEPS) expect(svg).toContain(`data-step="${id}"`);
    // Torn down in reverse: each step on the path waited for the one before it to go (it needs that
    // one), from a step nothing needs to the VPC, which goes last; the database's long delete on it.
    const path = RunTimeline.of(parseRunLog(await readFile(join(dir, 'gitlab.log'), 'utf8')).at(-1)!.events).criticalPath();
    expect(path.at(-1)).toBe('vpc');
    expect(path).toContain('rds-postgres');
    for (let i = 1; i < path.length; i++) expect(GUIDE_STEPS.find((s) => s.id === path[i - 1])!.needs, path[i - 1]).toContain(path[i]);
    expect(criticalSteps(svg).sort()).toEqual([...path].sort());
  });
});

describe('the report of a run that failed or was cut short', () => {
  const steps: RunStep[] = [
    { id: 'vpc', title: 'VPC', needs: [], minutes: 0.05 },
    { id: 'subnets', title: 'Subnets', needs: ['vpc'], minutes: 0.05 },
    { id: 'rds-postgres', title: 'PostgreSQL with RDS', needs: ['subnets'], minutes: 15 },
    { id: 'elasticache', title: 'Redis with ElastiCache', needs: ['subnets'], minutes: 12 },
    { id: 'gitaly', title: 'Gitaly <& friends>', needs: ['subnets'], minutes: 6 },
  ];
  const events: EngineEvent[] = [
    { type: 'run-started', operation: 'install', deployment: 'gitlab', steps, simulated: false },
    { type: 'step-started', operation: 'install', step: 'vpc', title: 'VPC', atMs: 0 },
    { type: 'step-finished', operation: 'install', step: 'vpc', title: 'VPC', outcome: 'done', elapsedMs: 3_000, atMs: 3_000 },
    { type: 'step-started', operation: 'install', step: 'subnets', title: 'Subnets', atMs: 3_000 },
    { type: 'step-finished', operation: 'install', step: 'subnets', title: 'Subnets', outcome: 'done', elapsedMs: 4_000, atMs: 7_000 },
    { type: 'step-started', operation: 'install', step: 'rds-postgres', title: 'PostgreSQL with RDS', atMs: 7_000 },
    { type: 'step-started', operation: 'install', step: 'elasticache', title: 'Redis with ElastiCache', atMs: 7_000 },
    {
      type: 'step-finished',
      operation: 'install',
      step: 'elasticache',
      title: 'Redis with ElastiCache',
      outcome: 'failed',
      elapsedMs: 60_000,
      atMs: 67_000,
      error: 'CacheQuota <exceeded> & more',
    },
    {
      type: 'step-finished',
      operation: 'install',
      step: 'rds-postgres',
      title: 'PostgreSQL with RDS',
      outcome: 'stopped',
      elapsedMs: 90_000,
      atMs: 97_000,
    },
    { type: 'run-finished', operation: 'install', ok: false, elapsedMs: 97_000, stoppedBy: 'failure' },
  ];

  test('marks the failed and stopped steps, the steps not run, and escapes what it quotes', () => {
    const svg = renderReportSvg({ index: 1, at: '2026-12-01T10:00:00.000Z', command: 'install', events });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('<g class="step failed" data-step="elasticache">');
    expect(svg).toContain('CacheQuota &lt;exceeded&gt; &amp; more');
    expect(svg).toMatch(/<g class="step critical stopped" data-step="rds-postgres">/);
    expect(svg).toContain('<g class="step not-run" data-step="gitaly">');
    expect(svg).toContain('Gitaly &lt;&amp; friends&gt;');
    expect(svg).toContain('gitlab: install, 2026-12-01 10:00 UTC');
    expect(svg).toContain('1m37s, stopped (failure)');
    expect(svg).not.toContain('simulated');
  });

  test('the critical path follows the step each waited for that ended last', () => {
    expect(RunTimeline.of(events).criticalPath()).toEqual(['vpc', 'subnets', 'rds-postgres']);
  });

  test('a log cut off mid-line (a killed run) still gives every run before and the run so far', () => {
    const lines = [
      JSON.stringify({ at: '2026-12-01T10:00:00.000Z', type: 'command', command: 'install --sandbox', pid: 1 }),
      ...events.map((e) => JSON.stringify({ at: '2026-12-01T10:00:01.000Z', ...e })),
      JSON.stringify({ at: '2026-12-01T11:00:00.000Z', type: 'command', command: 'resume --sandbox', pid: 2 }),
      JSON.stringify({ at: '2026-12-01T11:00:01.000Z', ...events[0] }),
      JSON.stringify({ at: '2026-12-01T11:00:01.000Z', ...events[1] }),
      '{"at":"2026-12-01T11:00:02.000Z","type":"step-fin',
    ];
    const runs = parseRunLog(lines.join('\n'));
    expect(runs.map((r) => [r.index, r.command, r.events.length])).toEqual([
      [1, 'install --sandbox', events.length],
      [2, 'resume --sandbox', 2],
    ]);
    const svg = renderReportSvg(runs[1]!);
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('no end recorded');
  });
});

#!/usr/bin/env node
// Benchmark: a full sandbox install and teardown, in this process, on AWS's timing table.
// Prints how long AWS would take (simulated) against the critical path and the one-by-one sum,
// plus this machine's wall time and peak memory. It prints figures; it never fails on them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { main } = await import('../dist/cli.js');
const { observeCalls } = await import('../dist/sandbox/index.js');

/** AWS calls by operation, per command (every attempt, throttled retries included). */
const calls = { install: {}, teardown: {} };
let counting = calls.install;
observeCalls((service, operation) => {
  const key = `${service}:${operation}`;
  counting[key] = (counting[key] ?? 0) + 1;
});

async function run(args) {
  const events = [];
  const stdout = Object.assign(new PassThrough(), { isTTY: false });
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  let buffer = '';
  stdout.on('data', (d) => {
    buffer += d;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buffer.slice(0, i)));
      buffer = buffer.slice(i + 1);
    }
  });
  let err = '';
  stderr.on('data', (d) => (err += d));
  const started = performance.now();
  const code = await main(args, { stdout, stderr, interactive: false, color: false });
  if (code !== 0) throw new Error(`gitlab-aws ${args.join(' ')} exited ${code}: ${err}`);
  return { events, wallMs: performance.now() - started };
}

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
const dir = mkdtempSync(join(tmpdir(), 'gitlab-aws-bench-'));
const common = ['--sandbox', '--json', '--state-dir', dir];
try {
  const plan = (await run(['plan', ...common])).events[0];
  const install = await run(['install', '--yes', ...common]);
  counting = calls.teardown;
  const teardown = await run(['teardown', '--yes', ...common]);
  clearInterval(sampler);

  const minutes = (ms) => (ms / 60_000).toFixed(1);
  const finished = (r) => r.events.find((e) => e.type === 'run-finished');
  const simulated = finished(install).elapsedMs;
  const steps = install.events.filter((e) => e.type === 'step-finished');
  console.log(`steps                      ${steps.length}`);
  console.log(`AWS time, one by one       ${plan.serialMinutes.toFixed(1)} min (typical, from the timing table)`);
  console.log(`AWS time, critical path    ${plan.criticalPathMinutes.toFixed(1)} min (no schedule can beat this)`);
  console.log(
    `install, simulated         ${minutes(simulated)} min (${((simulated / 60_000 / plan.criticalPathMinutes) * 100).toFixed(0)}% of the critical path)`,
  );
  console.log(`teardown, simulated        ${minutes(finished(teardown).elapsedMs)} min`);
  console.log(
    `slowest steps              ${steps
      .sort((a, b) => b.elapsedMs - a.elapsedMs)
      .slice(0, 3)
      .map((s) => `${s.step} ${minutes(s.elapsedMs)}m`)
      .join(', ')}`,
  );
  // Per step: its simulated time, and the AWS calls it spent waiting (each poll check that found
  // the resource not ready yet says "waiting for ...": one progress event per such call).
  const waits = (r) => {
    const count = {};
    for (const e of r.events)
      if (e.type === 'step-progress' && e.message.startsWith('waiting for ')) count[e.step] = (count[e.step] ?? 0) + 1;
    return count;
  };
  const installWaits = waits(install);
  const teardownWaits = waits(teardown);
  const teardownSteps = new Map(teardown.events.filter((e) => e.type === 'step-finished').map((e) => [e.step, e.elapsedMs]));
  console.log('per step                   install (simulated, AWS calls spent waiting: polls and retries) | teardown');
  for (const s of install.events.filter((e) => e.type === 'step-finished')) {
    const down = teardownSteps.get(s.step);
    console.log(
      `  ${s.step.padEnd(24)} ${minutes(s.elapsedMs).padStart(5)} min, ${String(installWaits[s.step] ?? 0).padStart(2)} waiting` +
        (down === undefined ? '' : ` | ${minutes(down).padStart(5)} min, ${String(teardownWaits[s.step] ?? 0).padStart(2)} waiting`),
    );
  }
  for (const [command, counts] of Object.entries(calls)) {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const top = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const byService = {};
    for (const [key, count] of top) byService[key.split(':')[0]] = (byService[key.split(':')[0]] ?? 0) + count;
    console.log(
      `AWS calls, ${command.padEnd(16)} ${total} in all (${Object.entries(byService)
        .map(([s, n]) => `${s} ${n}`)
        .join(', ')})`,
    );
    console.log(
      `  most called               ${top
        .slice(0, 8)
        .map(([op, n]) => `${op} ${n}`)
        .join(', ')}`,
    );
  }
  console.log(
    `wall time                  install ${(install.wallMs / 1000).toFixed(2)} s, teardown ${(teardown.wallMs / 1000).toFixed(2)} s`,
  );
  console.log(`peak memory (RSS)          ${(peakRss / 1024 / 1024).toFixed(0)} MiB`);
} finally {
  clearInterval(sampler);
  rmSync(dir, { recursive: true, force: true });
}

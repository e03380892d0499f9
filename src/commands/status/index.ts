import { createAwsSession } from '../../aws/clients.js';
import { explain } from '../../aws/errors.js';
import { EXIT, type ExitCode } from '../../errors.js';
import { GUIDE_STEPS } from '../../steps/index.js';
import { resolveDeployment, type Deployment } from '../deployment.js';
import { discoverDeployment, resourceLine } from '../discovery.js';
import type { CommandContext, GlobalOptions } from '../options.js';
import { runPipeline } from '../pipeline.js';
import { liveHealth, type Health, type HealthState } from './health/index.js';

interface StatusView {
  deployment: string;
  region: string;
  sandbox: boolean;
  source: 'state' | 'discovery';
  exists: boolean;
  steps: Array<{ id: string; title: string; status: string }>;
  resources: Array<{ type: string; id: string; step: string }>;
  /** With a state file: the live look (or why there is none). */
  health?: Health;
  /** Where GitLab answers, when a domain is recorded. */
  url?: string;
}

/**
 * `status`: what the state file records, or with --discover what AWS (or the sandbox) holds
 * tagged with this deployment, found by the same lookups the steps use to adopt and tear down.
 */
export async function status(ctx: CommandContext, { discover, offline }: { discover?: boolean; offline?: boolean }): Promise<ExitCode> {
  if (!discover) {
    const deployment = await resolveDeployment(ctx.options);
    const resources = (deployment.state?.resources ?? []).map(({ type, id, step }) => ({ type, id, step }));
    return show(ctx, deployment, resources, 'state', await health(ctx, deployment, Boolean(offline)));
  }
  return runPipeline(ctx, {
    run: async (ready) => show(ctx, ready.deployment, await discoverDeployment(ready), 'discovery'),
  });
}

/**
 * Live health is on by default: "is it up?" is what status is asked, and the state file alone
 * cannot say. It never fails the command: without AWS (credentials, network, an expired session)
 * the state file is still shown with the one reason, and the session tries twice with short
 * timeouts, so an unreachable endpoint answers at once.
 */
async function health(ctx: CommandContext, deployment: Deployment, offline: boolean): Promise<Health | undefined> {
  const { options } = ctx;
  if (!deployment.state) return undefined;
  if (offline) return { checked: false, reason: 'not checked (--offline)' };
  try {
    const aws = await createAwsSession({
      region: deployment.config.region,
      quick: true,
      ...(options.profile ? { profile: options.profile } : {}),
      ...(options.sandbox ? { sandbox: { stateDir: options.stateDir } } : {}),
    });
    try {
      return await liveHealth(aws, deployment.state);
    } finally {
      await aws.close();
    }
  } catch (err) {
    const { message, fix } = explain(err, { profile: options.profile });
    return { checked: false, reason: message, ...(fix ? { fix } : {}) };
  }
}

function show(
  ctx: CommandContext,
  deployment: Deployment,
  resources: StatusView['resources'],
  source: StatusView['source'],
  health?: Health,
): ExitCode {
  const { options } = ctx;
  const view: StatusView = {
    deployment: options.deployment,
    region: deployment.config.region,
    sandbox: options.sandbox,
    source,
    exists: Boolean(deployment.state),
    steps: GUIDE_STEPS.map((s) => ({ id: s.id, title: s.title, status: deployment.state?.steps[s.id]?.status ?? 'pending' })),
    resources,
    ...(health ? { health } : {}),
    ...(deployment.state?.config.domain ? { url: `https://${deployment.state.config.domain}` } : {}),
  };
  ctx.host.notify({ level: 'result', code: 'status', text: statusText(view, options), data: view });
  return EXIT.ok;
}

function statusText(view: StatusView, options: GlobalOptions): string {
  if (!view.exists && view.source === 'state') return `No deployment '${options.deployment}' in ${options.stateDir}.`;
  const lines = [`Deployment '${view.deployment}' in ${view.region}${view.sandbox ? ' (sandbox)' : ''}`];
  if (view.source === 'state') {
    const width = Math.max(...view.steps.map((s) => s.title.length));
    for (const s of view.steps) lines.push(`  ${s.title.padEnd(width)}  ${s.status}`);
  }
  lines.push(
    view.source === 'discovery'
      ? `Tagged with this deployment in AWS: ${view.resources.length}`
      : `Recorded resources: ${view.resources.length}`,
  );
  for (const r of view.resources) lines.push(resourceLine(r));
  if (view.health) lines.push(...healthLines(view.health));
  if (view.url) lines.push(`GitLab: ${view.url}`);
  return lines.join('\n');
}

const MARK: Record<HealthState, string> = { ok: '✔', warn: '!', fail: '✖', unknown: '?' };

function healthLines(health: Health): string[] {
  if (!health.checked)
    return [
      `Live health ${health.reason.startsWith('not checked') ? health.reason : `not checked: ${health.reason}`}${health.fix ? ` (fix: ${health.fix})` : ''}`,
    ];
  if (!health.checks.length) return ['Live health: nothing to check yet (no step that serves has finished)'];
  const width = Math.max(...health.checks.map((c) => c.title.length));
  return ['Live health:', ...health.checks.map((c) => `  ${MARK[c.state]} ${c.title.padEnd(width)}  ${c.text}`)];
}

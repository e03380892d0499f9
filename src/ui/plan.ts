import type { InstallConfig } from '../config/schema.js';
import { criticalPathMinutes, waves, type Node } from '../engine/graph.js';
import { formatDuration } from '../aws/clock.js';
import { MINUTE } from '../aws/durations.js';

export interface PlanView {
  deployment: string;
  region: string;
  sandbox: boolean;
  account?: string;
  steps: Array<{ id: string; title: string; needs: string[]; wave: number; status: string }>;
  /** Typical minutes if every step ran one after another, and along the critical path. */
  serialMinutes: number;
  criticalPathMinutes: number;
}

/**
 * The plan comes from the same step graph that runs the install (never a second list): steps in
 * the guide's order, each with the wave it can start in, so the operator sees what runs side by side.
 */
export function buildPlan(
  steps: readonly Node[],
  config: InstallConfig,
  sandbox: boolean,
  statusOf: (id: string) => string,
  account?: string,
): PlanView {
  const waveOf = new Map<string, number>();
  waves(steps).forEach((wave, i) => wave.forEach((s) => waveOf.set(s.id, i + 1)));
  return {
    deployment: config.deployment,
    region: config.region,
    sandbox,
    ...(account ? { account } : {}),
    steps: steps.map((s) => ({ id: s.id, title: s.title, needs: [...s.needs], wave: waveOf.get(s.id)!, status: statusOf(s.id) })),
    serialMinutes: steps.reduce((sum, s) => sum + s.minutes, 0),
    criticalPathMinutes: criticalPathMinutes(steps),
  };
}

export function planLines(plan: PlanView, config: InstallConfig): string[] {
  const where = plan.sandbox ? 'the sandbox (no AWS account is touched)' : `AWS account ${plan.account ?? '?'}`;
  const lines = [
    `Plan for deployment '${plan.deployment}' in ${plan.region}, in ${where}:`,
    `  network ${config.vpcCidr}; subnets ${Object.entries(config.subnetCidrs)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `  Availability Zones: ${config.availabilityZones.length ? config.availabilityZones.join(', ') : 'the first two the region offers'}`,
    `  SSH from outside: ${sshNote(config)}`,
    `  S3 buckets: ${config.bucketPrefix ?? `gl-${config.deployment}-<account>`}-<type>; secrets under /gitlab-aws/${config.deployment}/ in SSM Parameter Store`,
    '',
  ];
  const width = Math.max(...plan.steps.map((s) => s.title.length));
  plan.steps.forEach((s, i) => {
    const after = s.needs.length ? `after ${s.needs.join(', ')}` : 'starts at once';
    const status = s.status === 'pending' ? '' : `  [${s.status}]`;
    lines.push(`  ${String(i + 1).padStart(2)}. ${s.title.padEnd(width)}  wave ${s.wave}, ${after}${status}`);
  });
  lines.push(
    '',
    `Steps in the same wave run side by side. Typical AWS time: ${formatDuration(plan.criticalPathMinutes * MINUTE)} ` +
      `(one after another it would be ${formatDuration(plan.serialMinutes * MINUTE)}).`,
  );
  return lines;
}

function sshNote(config: InstallConfig): string {
  if (config.sshFromAnywhere) return 'WARNING: open to the whole internet (0.0.0.0/0, ::/0), as asked';
  if (config.sshCidr) return `from ${config.sshCidr} only (Git over SSH and the bastions)`;
  return 'closed (no trusted range given; --ssh-cidr opens Git over SSH and the bastions to it)';
}

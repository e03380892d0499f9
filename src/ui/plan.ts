import type { InstallConfig } from '../config/schema.js';
import { formatDuration } from '../aws/clock.js';
import { MINUTE } from '../aws/durations.js';
import { ACCOUNT_PLACEHOLDER, type PlanView } from '../engine/plan.js';

export { buildPlan, type PlanView } from '../engine/plan.js';

/** The plan as the operator reads it: the answers, then each step with what it will create. */
export function planLines(plan: PlanView, config: InstallConfig): string[] {
  const where = plan.sandbox ? 'the sandbox (no AWS account is touched)' : `AWS account ${plan.account ?? '?'}`;
  const lines = [
    `Plan for deployment '${plan.deployment}' in ${plan.region}, in ${where}:`,
    `  network ${config.vpcCidr}; subnets ${Object.entries(config.subnetCidrs)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `  Availability Zones: ${config.availabilityZones.length ? config.availabilityZones.join(', ') : 'the first two the region offers'}`,
    `  SSH from outside: ${sshNote(config)}`,
    `  database: ${databaseNote(config)}`,
    `  Domain: ${domainNote(config, plan.sandbox)}`,
    `  S3 buckets: ${config.bucketPrefix ?? `gl-${config.deployment}-${ACCOUNT_PLACEHOLDER}`}-<type>; secrets under /gitlab-aws/${config.deployment}/ in SSM Parameter Store`,
    '',
  ];
  const width = Math.max(...plan.steps.map((s) => s.title.length));
  const typeWidth = Math.max(0, ...plan.resources.map((r) => r.type.length));
  plan.steps.forEach((s, i) => {
    const after = s.needs.length ? `after ${s.needs.join(', ')}` : 'starts at once';
    const status = s.status === 'pending' ? '' : `  [${s.status}]`;
    lines.push(`  ${String(i + 1).padStart(2)}. ${s.title.padEnd(width)}  wave ${s.wave}, ${after}${status}`);
    for (const r of plan.resources.filter((r) => r.step === s.id)) lines.push(`        ${r.type.padEnd(typeWidth)}  ${r.name}`);
  });
  lines.push(
    '',
    `${plan.resources.length} resources in ${plan.steps.length} steps. Steps in the same wave run side by side. ` +
      `Typical AWS time: ${formatDuration(plan.criticalPathMinutes * MINUTE)} ` +
      `(one after another it would be ${formatDuration(plan.serialMinutes * MINUTE)}).`,
  );
  return lines;
}

function databaseNote({ database: db }: InstallConfig): string {
  const version = db.engineVersion.includes('.') ? db.engineVersion : `${db.engineVersion} (the newest ${db.engineVersion}.x RDS offers)`;
  const storage = `${db.storageType} ${db.allocatedStorage} GiB${db.iops !== undefined ? ` at ${db.iops} IOPS` : ''}`;
  const group = db.parameterGroup ? `parameter group ${db.parameterGroup}` : "the engine's default parameter group";
  return `PostgreSQL ${version}, ${db.instanceClass} Multi-AZ, ${storage}, ${group}; teardown keeps a final snapshot`;
}

function domainNote(config: InstallConfig, sandbox: boolean): string {
  if (!config.domain) return 'not given (install needs --domain)';
  const zone =
    sandbox && config.domain.endsWith('.example.com')
      ? "the sandbox account's zone example.com"
      : 'the longest matching public hosted zone';
  const create = config.createHostedZone ? ', or a new zone if none matches (--create-hosted-zone)' : '';
  const certificate = config.certificateArn ? `certificate ${config.certificateArn}` : 'a new ACM certificate validated by DNS';
  const proxy = config.proxyProtocol ? 'proxy protocol v2 on the HTTP target group' : 'proxy protocol off';
  return `${config.domain} (alias A record to the load balancer) in ${zone}${create}; ${certificate}; ${proxy}`;
}

function sshNote(config: InstallConfig): string {
  if (config.sshFromAnywhere) return 'WARNING: open to the whole internet (0.0.0.0/0, ::/0), as asked';
  if (config.sshCidr) return `from ${config.sshCidr} only (Git over SSH and the bastions)`;
  return 'closed (no trusted range given; --ssh-cidr opens Git over SSH and the bastions to it)';
}

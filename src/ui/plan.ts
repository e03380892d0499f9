import type { InstallConfig } from '../config/schema.js';
import { formatDuration } from '../aws/clock.js';
import { MINUTE } from '../aws/durations.js';
import { ACCOUNT_PLACEHOLDER, type PlanView } from '../engine/plan.js';
import type { MonthlyCost } from '../pricing/cost.js';

export { buildPlan, type PlanView } from '../engine/plan.js';

/**
 * The plan as the operator reads it: the answers, then the guide's sections with their steps and
 * what each will create, the totals, and the monthly cost when it was worked out.
 */
export function planLines(plan: PlanView, config: InstallConfig, cost?: MonthlyCost): string[] {
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
  const at = (minutes: number) => formatDuration(minutes * MINUTE);
  let number = 0;
  for (const section of plan.sections) {
    const when = section.start === 0 ? 'starts at once' : `starts after ~${at(section.start)}`;
    lines.push(`${section.title} (${when}, done after ~${at(section.finish)})`);
    for (const s of section.steps.map((id) => plan.steps.find((step) => step.id === id)!)) {
      const after = s.needs.length ? `after ${s.needs.join(', ')}` : 'starts at once';
      const status = s.status === 'pending' ? '' : `  [${s.status}]`;
      lines.push(`  ${String(++number).padStart(2)}. ${s.title.padEnd(width)}  wave ${s.wave}, ${after}${status}`);
      for (const r of section.resources.filter((r) => r.step === s.id)) {
        const retired = r.retiredBy ? `  (retired by '${plan.steps.find((step) => step.id === r.retiredBy)?.title ?? r.retiredBy}')` : '';
        lines.push(`        ${r.type.padEnd(typeWidth)}  ${r.name}${retired}`);
      }
    }
  }
  const retired = plan.resources.length - plan.remaining;
  lines.push(
    '',
    `${plan.resources.length} resources in ${plan.steps.length} steps` +
      (retired ? `; ${plan.remaining} remain once the install is done (${retired} retired at its end).` : '.') +
      ' Steps in the same wave run side by side. ' +
      `Typical AWS time: ${at(plan.criticalPathMinutes)} ` +
      `(one after another it would be ${at(plan.serialMinutes)}).`,
  );
  if (cost) lines.push('', ...costLines(cost));
  return lines;
}

/** The monthly cost as the operator reads it: a line per priced item, the total, and what is usage or free. */
export function costLines(cost: MonthlyCost): string[] {
  const usd = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const whatWidth = Math.max(...cost.lines.map((l) => l.what.length));
  const amounts = cost.lines.map(
    (l) => `${l.quantity.toLocaleString('en-US')} ${l.unit} × ${l.unitPrice === undefined ? '(no price)' : `$${l.unitPrice}`}`,
  );
  const amountWidth = Math.max(...amounts.map((a) => a.length));
  return [
    `Monthly cost of these answers, On-Demand (prices: ${cost.source}):`,
    ...cost.lines.map(
      (l, i) =>
        `  ${l.what.padEnd(whatWidth)}  ${amounts[i]!.padEnd(amountWidth)}  ${l.monthly === undefined ? '?' : usd(l.monthly).padStart(10)}`,
    ),
    `  ${'Total a month'.padEnd(whatWidth)}  ${''.padEnd(amountWidth)}  ${usd(cost.total).padStart(10)}`,
    ...cost.notes.map((n) => `  note: ${n}`),
    `  plus usage: ${cost.usage.map((u) => `${u.what} (${u.note})`).join('; ')}`,
    `  free: ${cost.free.map((f) => f.what).join(', ')}`,
  ];
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

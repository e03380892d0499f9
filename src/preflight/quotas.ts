import { sideBySide, type Clock } from '../aws/clock.js';
import type { AccountAttributeName, EC2, Instance } from '@aws-sdk/client-ec2';
import type { ServiceQuotas } from '@aws-sdk/client-service-quotas';
import type { AwsSession } from '../aws/clients.js';
import { classify, errorCode, INSTALL_QUOTAS, type QuotaRef } from '../aws/errors.js';
import { chosenInstanceTypes, countsAsStandard } from '../aws/offerings.js';
import { belongsTo } from '../aws/tags.js';
import type { InstallConfig } from '../config/schema.js';
import { ZONES } from '../steps/names.js';
import type { IoHost } from '../ui/host.js';
import { INSTANCE_STEPS, type ToBuild } from './building.js';
import type { Refusal } from './refusal.js';

/** The quotas an install uses, as Service Quotas names them (the one list in aws/errors.ts), with AWS's default for a new account. */
const asked = (quota: QuotaRef & { quota: string }, awsDefault: number) =>
  ({ ServiceCode: quota.service, QuotaCode: quota.quota, name: quota.name, awsDefault }) as const;
const QUOTAS = {
  elasticIps: asked(INSTALL_QUOTAS.elasticIps, 5),
  vpcs: asked(INSTALL_QUOTAS.vpcs, 5),
  vcpus: asked(INSTALL_QUOTAS.vcpus, 5),
};
type Quota = (typeof QUOTAS)[keyof typeof QUOTAS];

/** Where a limit was read: the account's value, or why only a fallback was at hand. */
interface Limit {
  value: number | undefined;
  source: string;
}

/**
 * The account's value of a quota: Service Quotas' applied value, AWS's default where none was
 * applied (NoSuchResource), or undefined with the reason when Service Quotas is out of reach
 * (credentials without servicequotas:GetServiceQuota are common; that is no reason to refuse).
 */
async function quotaValue(quotas: ServiceQuotas, quota: Quota): Promise<Limit> {
  const { ServiceCode, QuotaCode } = quota;
  try {
    const applied = await quotas.getServiceQuota({ ServiceCode, QuotaCode });
    return { value: applied.Quota?.Value, source: 'Service Quotas' };
  } catch (err) {
    if (errorCode(err) === 'NoSuchResourceException') {
      const fallback = await quotas.getAWSDefaultServiceQuota({ ServiceCode, QuotaCode });
      return { value: fallback.Quota?.Value, source: "AWS's default" };
    }
    if (classify(err) === 'access-denied') return { value: undefined, source: `Service Quotas answered ${errorCode(err)}` };
    throw err;
  }
}

const raiseIt = (quota: Quota) => `request more in the Service Quotas console (${quota.name}, ${quota.QuotaCode})`;

/**
 * Elastic IPs: the install allocates one per NAT gateway and one per bastion. Addresses of this
 * deployment already allocated are part of that need, not in its way (a resume).
 */
async function elasticIps(
  ec2: EC2,
  quotas: ServiceQuotas,
  clock: Clock,
  config: InstallConfig,
  notify: Notify,
): Promise<Refusal | undefined> {
  const needed = ZONES.length * 2;
  const [limit, addresses] = await sideBySide(clock, [
    () => quotaValue(quotas, QUOTAS.elasticIps),
    async () => (await ec2.describeAddresses({})).Addresses ?? [],
  ]);
  let value = limit.value;
  if (value === undefined) {
    // EC2 states this one itself, so the check stands without Service Quotas.
    // The SDK's enum lists two names; EC2 answers the limits' names too.
    const attributes = await ec2.describeAccountAttributes({ AttributeNames: ['vpc-max-elastic-ips' as AccountAttributeName] });
    value = Number(attributes.AccountAttributes?.[0]?.AttributeValues?.[0]?.AttributeValue);
    notify(`${limit.source}; the Elastic IP quota (${value}) was read from EC2's account attributes instead`);
  }
  const others = addresses.filter((a) => !belongsTo(a.Tags, config.deployment)).length;
  if (value - others >= needed) return undefined;
  return {
    message: `the install allocates ${needed} Elastic IPs (a NAT gateway and a bastion per zone), but ${others} of the ${value} region ${config.region} allows are in use`,
    fix: `release Elastic IPs you do not need ('aws ec2 describe-addresses'), ${raiseIt(QUOTAS.elasticIps)}, or choose another --region`,
  };
}

/** One VPC: the install's own. */
async function vpcs(ec2: EC2, quotas: ServiceQuotas, clock: Clock, config: InstallConfig, notify: Notify): Promise<Refusal | undefined> {
  const [limit, found] = await sideBySide(clock, [
    () => quotaValue(quotas, QUOTAS.vpcs),
    async () => (await ec2.describeVpcs({})).Vpcs ?? [],
  ]);
  const others = found.filter((v) => !belongsTo(v.Tags, config.deployment)).length;
  if (limit.value === undefined) {
    notify(`${limit.source}; the VPC quota was not checked (AWS's default is ${QUOTAS.vpcs.awsDefault}, and ${others} VPCs exist)`);
    return undefined;
  }
  if (limit.value - others >= 1) return undefined;
  return {
    message: `region ${config.region} allows ${limit.value} VPCs and ${others} exist, so the install cannot create its own`,
    fix: `delete a VPC you do not need, ${raiseIt(QUOTAS.vpcs)}, or choose another --region`,
  };
}

/**
 * Running On-Demand Standard vCPUs, counted at the most the install runs at once: the bastions,
 * Gitaly, the base instance and the Auto Scaling group at its max. Instances of this deployment
 * are part of that need, not in its way.
 */
async function vcpus(ec2: EC2, quotas: ServiceQuotas, clock: Clock, config: InstallConfig, notify: Notify): Promise<Refusal | undefined> {
  const [limit, running] = await sideBySide(clock, [() => quotaValue(quotas, QUOTAS.vcpus), () => runningInstances(ec2)]);
  if (limit.value === undefined) {
    notify(`${limit.source}; the vCPU quota (${QUOTAS.vcpus.name}) was not checked`);
    return undefined;
  }
  const [bastion, gitaly, gitlab] = [config.bastion.instanceType, config.gitaly.instanceType, config.gitlab.instanceType];
  const wanted = [...ZONES.map(() => bastion), gitaly, gitlab, ...Array.from({ length: config.autoScaling.max }, () => gitlab)].filter(
    countsAsStandard,
  );
  const others = running.filter((i) => !belongsTo(i.Tags, config.deployment) && countsAsStandard(i.InstanceType));
  const types = [...new Set([...chosenInstanceTypes(config).map((c) => c.type), ...others.map((i) => i.InstanceType!)])];
  const described = await ec2.describeInstanceTypes({ InstanceTypes: types as never });
  const vcpusOf = new Map((described.InstanceTypes ?? []).map((t) => [t.InstanceType as string, t.VCpuInfo?.DefaultVCpus ?? 0]));
  const count = (list: Array<string | undefined>) => list.reduce((sum, type) => sum + (vcpusOf.get(type ?? '') ?? 0), 0);
  const needed = count(wanted);
  const inUse = count(others.map((i) => i.InstanceType));
  if (limit.value - inUse >= needed) return undefined;
  return {
    message:
      `the install runs up to ${needed} On-Demand Standard vCPUs at once (two ${bastion} bastions, a ${gitaly} Gitaly, ` +
      `a ${gitlab} base instance and ${config.autoScaling.max} ${gitlab} nodes at the group's max), but region ${config.region} ` +
      `allows ${limit.value} and ${inUse} are running`,
    fix: `${raiseIt(QUOTAS.vcpus)}, stop instances you do not need, or choose smaller instance types or a lower autoScaling.max`,
  };
}

async function runningInstances(ec2: EC2): Promise<Instance[]> {
  const found: Instance[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2.describeInstances({
      Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'shutting-down'] }],
      ...(NextToken ? { NextToken } : {}),
    });
    for (const reservation of page.Reservations ?? []) found.push(...(reservation.Instances ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

type Notify = (text: string) => void;

/**
 * The quotas the steps not yet complete will use leave room: Elastic IPs, VPCs and running vCPUs,
 * each only while a step that uses it is still to run. The first refusal, in that order.
 */
export async function quotasLeaveRoom(aws: AwsSession, config: InstallConfig, left: ToBuild, host: IoHost): Promise<Refusal | undefined> {
  const [ec2, quotas] = [await aws.ec2(), await aws.servicequotas()];
  const notify: Notify = (text) => host.notify({ level: 'info', code: 'preflight.quota-fallback', text });
  const { clock } = aws;
  const none = async () => undefined;
  const checks = await sideBySide(clock, [
    left.anyOf('nat-gateways', 'bastion-hosts') ? () => elasticIps(ec2, quotas, clock, config, notify) : none,
    left.anyOf('vpc') ? () => vpcs(ec2, quotas, clock, config, notify) : none,
    left.anyOf(...INSTANCE_STEPS) ? () => vcpus(ec2, quotas, clock, config, notify) : none,
  ]);
  return checks.find(Boolean);
}

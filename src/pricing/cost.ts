import type { InstallConfig } from '../config/schema.js';
import type { PlanView } from '../engine/plan.js';
import type { Prices } from './prices.js';
import { HOURS_PER_MONTH, RESOURCE_CHARGES, type PriceKey } from './table.js';

/** One line of the monthly cost: what, how much of it a month (in the price's unit), at what price. */
export interface CostLine {
  what: string;
  key: PriceKey;
  quantity: number;
  /** The unit `quantity` counts and the price is per: 'h', 'GiB-month', 'IOPS-month', 'LCU-h', 'month'. */
  unit: string;
  /** Undefined when no price is known for it (a type outside the table, say): then not in the total. */
  unitPrice?: number;
  monthly?: number;
}

export interface MonthlyCost {
  source: string;
  notes: string[];
  lines: CostLine[];
  /** The sum of the lines that have a price, in USD. */
  total: number;
  /** What is charged as used and not guessed here, and what costs nothing. */
  usage: Array<{ what: string; note: string }>;
  free: Array<{ what: string; note: string }>;
}

/**
 * The root volumes (GiB) of the instances whose root is the image's own size: the launcher
 * (src/steps/instances.ts) and the launch template set the type (gp3) but not the size, so each
 * root is as large as its image declares. `gitlab`: the official GitLab AMI's, which the base
 * instance boots from, so also the baked image's (its snapshot) and every node the group
 * launches; `bastion`: the bastions' image's (Ubuntu 24.04). Gitaly's root is sized by the
 * answers (io1), not by its image.
 */
export interface RootVolumes {
  gitlab: number;
  bastion: number;
}

/**
 * Each image family's root volume, for when the region's images were not asked (offline, or AWS
 * did not answer): GitLab's official AMIs are built with 20 GiB (omnibus-gitlab
 * support/packer/ee.pkr.hcl and ce.pkr.hcl, `launch_block_device_mappings` /dev/sda1
 * `volume_size = 20`, since "Increase the root disk size of packer builder VMs", 2025-03);
 * Canonical's Ubuntu 24.04 server AMIs have 8 GiB. An operator's own AMI (gitlab.amiId,
 * bastion.amiId) counts as its family's until DescribeImages says otherwise.
 */
export const IMAGE_ROOT_GIB = { gitlab: 20, ubuntu: 8 } as const;
export const USUAL_ROOT_VOLUMES: RootVolumes = { gitlab: IMAGE_ROOT_GIB.gitlab, bastion: IMAGE_ROOT_GIB.ubuntu };

/** The root volumes the images AWS named declare (machine-images' lookup or its record); a size not declared counts as its family's. */
export function rootVolumesOf(images: {
  gitlab: { rootSizeGib?: number | undefined };
  bastion: { rootSizeGib?: number | undefined };
}): RootVolumes {
  return {
    gitlab: images.gitlab.rootSizeGib ?? IMAGE_ROOT_GIB.gitlab,
    bastion: images.bastion.rootSizeGib ?? IMAGE_ROOT_GIB.ubuntu,
  };
}

type Item = Omit<CostLine, 'unitPrice' | 'monthly'>;

/** Which answer sizes the instances each step runs, and the root volume they boot with. */
const INSTANCES: Record<
  string,
  (config: InstallConfig, roots: RootVolumes) => { label: string; type: string; rootGib?: number; io1?: { gib: number; iops: number } }
> = {
  'bastion-hosts': (c, roots) => ({ label: 'bastion hosts', type: c.bastion.instanceType, rootGib: roots.bastion }),
  gitaly: (c) => ({ label: 'Gitaly', type: c.gitaly.instanceType, io1: { gib: c.gitaly.volumeSize, iops: c.gitaly.iops } }),
  // The group runs its desired size until the CPU alarms scale it (usage the plan cannot know).
  'auto-scaling-group': (c, roots) => ({ label: 'GitLab nodes', type: c.gitlab.instanceType, rootGib: roots.gitlab }),
};

/** gp3 RDS storage includes 12,000 IOPS at 400 GiB and more; only IOPS above that are billed. */
const RDS_GP3_INCLUDED_IOPS = 12_000;

/**
 * The priced items of what stays running once the install is done, from the plan's resources (so
 * what is priced is what the plan lists) and the answers that size them. A resource of a priced
 * type that no rule here can size is a programming error, not a silent zero.
 */
export function costItems(config: InstallConfig, plan: Pick<PlanView, 'resources'>, roots: RootVolumes = USUAL_ROOT_VOLUMES): Item[] {
  const standing = plan.resources.filter((r) => !r.retiredBy);
  const count = (type: string, step?: string) => standing.filter((r) => r.type === type && (!step || r.step === step)).length;
  const hours = (n: number) => n * HOURS_PER_MONTH;
  const items: Item[] = [];

  for (const step of [...new Set(standing.filter((r) => r.type === 'AWS::EC2::Instance').map((r) => r.step))]) {
    const sizing = INSTANCES[step];
    if (!sizing) throw new Error(`the cost has no rule for the instances of step '${step}' (src/pricing/cost.ts INSTANCES)`);
    const n = count('AWS::EC2::Instance', step);
    const { label, type, io1, rootGib } = sizing(config, roots);
    items.push({ what: `${n} × ${type}, ${label}`, key: `ec2:${type}`, quantity: hours(n), unit: 'h' });
    if (io1) {
      items.push({ what: `${label}'s volume, io1 ${io1.gib} GiB`, key: 'ebs:io1', quantity: n * io1.gib, unit: 'GiB-month' });
      items.push({
        what: `${label}'s volume, ${io1.iops} provisioned IOPS`,
        key: 'ebs:io1-iops',
        quantity: n * io1.iops,
        unit: 'IOPS-month',
      });
    } else if (rootGib !== undefined) {
      items.push({
        what: `${n} × ${rootGib} GiB gp3 root volumes, ${label}`,
        key: 'ebs:gp3',
        quantity: n * rootGib,
        unit: 'GiB-month',
      });
    }
  }
  const eips = count('AWS::EC2::EIP');
  if (eips) items.push({ what: `${eips} Elastic IP addresses (public IPv4)`, key: 'ipv4', quantity: hours(eips), unit: 'h' });
  const nats = count('AWS::EC2::NatGateway');
  if (nats) items.push({ what: `${nats} NAT gateways (plus data processed)`, key: 'nat', quantity: hours(nats), unit: 'h' });
  const nlbs = count('AWS::ElasticLoadBalancingV2::LoadBalancer');
  if (nlbs) {
    const zones = 2; // internet-facing in both public subnets: one public IPv4 address in each
    items.push({ what: 'Network Load Balancer', key: 'nlb', quantity: hours(nlbs), unit: 'h' });
    items.push({ what: 'Network Load Balancer, at least 1 capacity unit (NLCU)', key: 'nlcu', quantity: hours(nlbs), unit: 'LCU-h' });
    items.push({ what: `Network Load Balancer's ${zones} public IPv4 addresses`, key: 'ipv4', quantity: hours(nlbs * zones), unit: 'h' });
  }
  if (count('AWS::RDS::DBInstance')) {
    const db = config.database;
    items.push({
      what: `PostgreSQL ${db.instanceClass}, Multi-AZ (primary and standby)`,
      key: `rds:${db.instanceClass}`,
      quantity: hours(1),
      unit: 'h',
    });
    items.push({
      what: `PostgreSQL storage, ${db.storageType} ${db.allocatedStorage} GiB, Multi-AZ`,
      key: `rds-storage:${db.storageType}`,
      quantity: db.allocatedStorage,
      unit: 'GiB-month',
    });
    const billedIops = db.iops === undefined ? 0 : db.storageType === 'gp3' ? Math.max(0, db.iops - RDS_GP3_INCLUDED_IOPS) : db.iops;
    if (billedIops) {
      items.push({
        what: `PostgreSQL ${billedIops} provisioned IOPS, Multi-AZ`,
        key: `rds-iops:${db.storageType}`,
        quantity: billedIops,
        unit: 'IOPS-month',
      });
    }
  }
  if (count('AWS::ElastiCache::ReplicationGroup')) {
    const { nodeType, engine, replicas } = config.cache;
    const nodes = 1 + replicas;
    items.push({
      what: `${nodes} × ${nodeType} ${engine} nodes (primary and ${replicas} replica${replicas === 1 ? '' : 's'})`,
      key: `cache:${engine}:${nodeType}`,
      quantity: hours(nodes),
      unit: 'h',
    });
  }
  const snapshots = count('AWS::EC2::Snapshot');
  if (snapshots)
    items.push({
      what: `the AMI's snapshot (the ${roots.gitlab} GiB root volume, at most)`,
      key: 'ebs:snapshot',
      quantity: snapshots * roots.gitlab,
      unit: 'GiB-month',
    });
  const zones = count('AWS::Route53::HostedZone');
  if (zones) items.push({ what: `${zones} Route 53 hosted zone`, key: 'zone', quantity: zones, unit: 'month' });
  const alarms = count('AWS::CloudWatch::Alarm');
  if (alarms) items.push({ what: `${alarms} CloudWatch alarms`, key: 'alarm', quantity: alarms, unit: 'month' });
  return items;
}

/** The monthly cost of the chosen answers: the standing resources at these prices, line by line. */
export function monthlyCost(
  config: InstallConfig,
  plan: Pick<PlanView, 'resources'>,
  prices: Prices,
  roots: RootVolumes = USUAL_ROOT_VOLUMES,
): MonthlyCost {
  const lines = costItems(config, plan, roots).map((item): CostLine => {
    const unitPrice = prices.get(item.key);
    return unitPrice === undefined ? item : { ...item, unitPrice, monthly: round(item.quantity * unitPrice) };
  });
  const notes = [...prices.notes];
  const unpriced = lines.filter((l) => l.unitPrice === undefined);
  if (unpriced.length) notes.push(`no price known for ${unpriced.map((l) => l.key).join(', ')}: not in the total`);
  const retired = plan.resources.filter((r) => r.retiredBy);
  if (retired.length)
    notes.push(`not monthly: ${retired.map((r) => r.name).join(', ')} runs only while the install does (retired at its end)`);
  const { desired, max } = config.autoScaling;
  const node = prices.get(`ec2:${config.gitlab.instanceType}`);
  if (
    max > desired &&
    node !== undefined &&
    plan.resources.some((r) => r.step === 'auto-scaling-group' && r.type === 'AWS::EC2::Instance')
  ) {
    notes.push(
      `under load the group may grow to ${max} GitLab nodes: each one more adds $${(node * HOURS_PER_MONTH).toFixed(2)} a month while it runs`,
    );
  }
  const types = new Set(plan.resources.map((r) => r.type));
  const of = (charge: 'usage' | 'free') =>
    [...types]
      .filter((t) => RESOURCE_CHARGES[t]?.charge === charge)
      .map((t) => ({ what: t.split('::').slice(1).join(' '), note: RESOURCE_CHARGES[t]!.note }));
  const natGb = prices.get('nat-gb');
  return {
    source: prices.source,
    notes,
    lines,
    total: round(lines.reduce((sum, l) => sum + (l.monthly ?? 0), 0)),
    usage: [
      ...(types.has('AWS::EC2::NatGateway') && natGb !== undefined ? [{ what: 'EC2 NatGateway', note: `$${natGb}/GB processed` }] : []),
      ...of('usage'),
      { what: 'data transfer', note: 'out to the internet and between Availability Zones' },
    ],
    free: of('free'),
  };
}

const round = (usd: number) => Math.round(usd * 100) / 100;

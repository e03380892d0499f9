import { describe, expect, test } from 'vitest';
import { buildInstallConfig, type InstallConfig } from '../src/config/schema.js';
import { buildPlan } from '../src/engine/plan.js';
import { costItems, IMAGE_ROOT_GIB, monthlyCost, USUAL_ROOT_VOLUMES, type RootVolumes } from '../src/pricing/cost.js';
import { builtInPrices } from '../src/pricing/prices.js';
import { PRICE_TABLE, PRICE_TABLE_AS_OF, RESOURCE_CHARGES } from '../src/pricing/table.js';
import { GUIDE } from '../src/steps/sections.js';
import { costLines } from '../src/ui/plan.js';
import type { Image } from '@aws-sdk/client-ec2';
import { planScreen } from '../src/commands/plan/screen.js';
import { GITLAB_AMI_OWNER, UBUNTU_PARAMETER } from '../src/steps/machine-images.js';

const pending = () => 'pending';
const planOf = (config: InstallConfig) => buildPlan(GUIDE, config, false, pending, '123456789012');
const defaults = (region = 'us-west-2') => buildInstallConfig({ deployment: 'gitlab', region });

/** Answers that between them make every kind of resource a plan can list. */
const VARIANTS: InstallConfig[] = [
  defaults(),
  { ...defaults(), domain: 'gitlab.corp.test', createHostedZone: true },
  { ...defaults(), cache: { nodeType: 'cache.t3.small', engine: 'redis', replicas: 2 } },
  { ...defaults(), database: { ...defaults().database, storageType: 'gp3', allocatedStorage: 400, iops: 15_000 } },
];

describe('the monthly cost of the chosen answers', () => {
  test("the guide's defaults in us-west-2, line by line, at the table's prices and with its date", () => {
    const config = defaults();
    const cost = monthlyCost(config, planOf(config), builtInPrices('us-west-2'));
    expect(cost.source).toBe(`built-in table of ${PRICE_TABLE_AS_OF}`);
    expect(cost.lines.map((l) => [l.what, l.quantity, l.unitPrice, l.monthly])).toEqual([
      ['2 × t3.micro, bastion hosts', 1460, 0.0104, 15.18],
      ['2 × 8 GiB gp3 root volumes, bastion hosts', 16, 0.08, 1.28],
      ['1 × m5.xlarge, Gitaly', 730, 0.192, 140.16],
      ["Gitaly's volume, io1 20 GiB", 20, 0.125, 2.5],
      ["Gitaly's volume, 1000 provisioned IOPS", 1000, 0.065, 65],
      ['2 × c5.2xlarge, GitLab nodes', 1460, 0.34, 496.4],
      ['2 × 20 GiB gp3 root volumes, GitLab nodes', 40, 0.08, 3.2],
      ['4 Elastic IP addresses (public IPv4)', 2920, 0.005, 14.6],
      ['2 NAT gateways (plus data processed)', 1460, 0.045, 65.7],
      ['Network Load Balancer', 730, 0.0225, 16.43],
      ['Network Load Balancer, at least 1 capacity unit (NLCU)', 730, 0.006, 4.38],
      ["Network Load Balancer's 2 public IPv4 addresses", 1460, 0.005, 7.3],
      ['PostgreSQL db.m5.large, Multi-AZ (primary and standby)', 730, 0.356, 259.88],
      ['PostgreSQL storage, io1 100 GiB, Multi-AZ', 100, 0.25, 25],
      ['PostgreSQL 1000 provisioned IOPS, Multi-AZ', 1000, 0.2, 200],
      ['2 × cache.t3.medium valkey nodes (primary and 1 replica)', 1460, 0.0544, 79.42],
      ["the AMI's snapshot (the 20 GiB root volume, at most)", 20, 0.05, 1],
      ['2 CloudWatch alarms', 2, 0.1, 0.2],
    ]);
    expect(cost.total).toBe(1397.63);
    // The base instance is made and retired by the install: not a monthly cost, and said so.
    // The group may scale out to its maximum: what each node more costs is said, not added.
    expect(cost.notes).toEqual([
      'not monthly: gitlab-gitlab-source runs only while the install does (retired at its end)',
      'under load the group may grow to 4 GitLab nodes: each one more adds $248.20 a month while it runs',
    ]);
    expect(cost.usage.map((u) => u.what)).toEqual(['EC2 NatGateway', 'S3 Bucket', 'Route53 RecordSet', 'data transfer']);
    expect(cost.usage[0]!.note).toBe('$0.045/GB processed');
    expect(cost.free.map((f) => f.what)).toEqual(expect.arrayContaining(['IAM Role', 'CertificateManager Certificate', 'SSM Parameter']));
    const shown = costLines(cost);
    expect(shown[0]).toBe(`Monthly cost of these answers, On-Demand (prices: built-in table of ${PRICE_TABLE_AS_OF}):`);
    expect(shown.find((l) => l.includes('Total a month'))).toMatch(/\$1,397\.63$/);
  });

  test('every resource type a plan lists is priced, free or usage-based in the table, and every priced one has a line', () => {
    const pricedKey: Record<string, RegExp> = {
      'AWS::EC2::Instance': /^ec2:/,
      'AWS::EC2::EIP': /^ipv4$/,
      'AWS::EC2::NatGateway': /^nat$/,
      'AWS::ElasticLoadBalancingV2::LoadBalancer': /^nlb$/,
      'AWS::RDS::DBInstance': /^rds:/,
      'AWS::ElastiCache::ReplicationGroup': /^cache:/,
      'AWS::EC2::Snapshot': /^ebs:snapshot$/,
      'AWS::Route53::HostedZone': /^zone$/,
      'AWS::CloudWatch::Alarm': /^alarm$/,
    };
    const seen = new Set<string>();
    for (const config of VARIANTS) {
      const plan = planOf(config);
      const keys = costItems(config, plan).map((i) => i.key);
      for (const type of new Set(plan.resources.map((r) => r.type))) {
        seen.add(type);
        expect(RESOURCE_CHARGES[type], `${type} is not in RESOURCE_CHARGES`).toBeDefined();
        if (RESOURCE_CHARGES[type]!.charge === 'priced') {
          expect(pricedKey[type], `a priced type without a test rule: ${type}`).toBeDefined();
          expect(
            keys.some((k) => pricedKey[type]!.test(k)),
            `no cost line for ${type}`,
          ).toBe(true);
        }
      }
    }
    // The variants reach every type the table names, so none of its entries is left unchecked.
    expect([...seen].sort()).toEqual(Object.keys(RESOURCE_CHARGES).sort());
    expect(Object.keys(pricedKey).sort()).toEqual(
      Object.keys(RESOURCE_CHARGES)
        .filter((t) => RESOURCE_CHARGES[t]!.charge === 'priced')
        .sort(),
    );
  });

  test("the price table covers every item of the guide's answers in each region it holds", () => {
    expect(Object.keys(PRICE_TABLE)).toEqual(['us-west-2', 'us-east-1', 'us-east-2', 'eu-west-1', 'eu-central-1']);
    for (const region of Object.keys(PRICE_TABLE)) {
      for (const variant of VARIANTS) {
        const config = { ...variant, region };
        const cost = monthlyCost(config, planOf(config), builtInPrices(region));
        expect(
          cost.lines.filter((l) => l.unitPrice === undefined).map((l) => l.key),
          `${region}`,
        ).toEqual([]);
        expect(cost.total).toBeGreaterThan(0);
      }
    }
  });

  test('follows the answers: group size, replicas, a created zone, gp3 storage above its included IOPS', () => {
    const bigger = { ...defaults(), autoScaling: { ...defaults().autoScaling, desired: 3, max: 4 } };
    expect(monthlyCost(bigger, planOf(bigger), builtInPrices('us-west-2')).lines.find((l) => l.key === 'ec2:c5.2xlarge')).toMatchObject({
      what: '3 × c5.2xlarge, GitLab nodes',
      monthly: 744.6,
    });
    const [zone, redis, gp3] = VARIANTS.slice(1).map((c) => monthlyCost(c, planOf(c), builtInPrices('us-west-2')));
    expect(zone!.lines.find((l) => l.key === 'zone')).toMatchObject({ what: '1 Route 53 hosted zone', monthly: 0.5 });
    expect(monthlyCost(defaults(), planOf(defaults()), builtInPrices('us-west-2')).lines.some((l) => l.key === 'zone')).toBe(false);
    expect(redis!.lines.find((l) => l.key.startsWith('cache:'))).toMatchObject({
      what: '3 × cache.t3.small redis nodes (primary and 2 replicas)',
      unitPrice: 0.034,
      monthly: 74.46,
    });
    // gp3 includes 12,000 IOPS at 400 GiB: only the 3,000 above are billed.
    expect(gp3!.lines.find((l) => l.key === 'rds-iops:gp3')).toMatchObject({ quantity: 3000, unitPrice: 0.04, monthly: 120 });
    expect(gp3!.lines.find((l) => l.key === 'rds-storage:gp3')).toMatchObject({ quantity: 400, unitPrice: 0.23, monthly: 92 });
  });

  test('a region outside the table is priced as us-east-1 and says so; a type outside it is shown unpriced, not as zero', () => {
    const sydney = { ...defaults('ap-southeast-2'), gitlab: { ...defaults().gitlab, instanceType: 'c7i.2xlarge' } };
    const cost = monthlyCost(sydney, planOf(sydney), builtInPrices('ap-southeast-2'));
    expect(cost.notes).toContain("the table holds no prices for ap-southeast-2: us-east-1's are shown (ap-southeast-2 may cost more)");
    expect(cost.notes).toContain('no price known for ec2:c7i.2xlarge: not in the total');
    const unpriced = cost.lines.find((l) => l.key === 'ec2:c7i.2xlarge')!;
    expect([unpriced.quantity, unpriced.unitPrice, unpriced.monthly]).toEqual([1460, undefined, undefined]);
    expect(costLines(cost).find((l) => l.includes('c7i.2xlarge'))).toMatch(/\(no price\)\s+\?$/);
  });

  test('instances of a step the cost has no rule for fail loudly instead of costing nothing', () => {
    const plan = planOf(defaults());
    const withNewStep = { resources: [...plan.resources, { step: 'runner-fleet', type: 'AWS::EC2::Instance', name: 'gitlab-runner' }] };
    expect(() => costItems(defaults(), withNewStep)).toThrow(/no rule for the instances of step 'runner-fleet'/);
  });

  test("each root volume and the baked image's snapshot are priced at the size of the image they come from", () => {
    const config = defaults();
    const plan = planOf(config);
    const prices = builtInPrices('us-west-2');
    const gp3 = prices.get('ebs:gp3')!;
    const snapshot = prices.get('ebs:snapshot')!;
    const count = (step: string) => plan.resources.filter((r) => r.step === step && r.type === 'AWS::EC2::Instance').length;
    const nodes = config.autoScaling.desired;
    expect(count('auto-scaling-group')).toBe(nodes);
    const rootLines = (roots: RootVolumes) => {
      const cost = monthlyCost(config, plan, prices, roots);
      const line = (what: RegExp) => cost.lines.find((l) => what.test(l.what))!;
      return {
        bastions: line(/root volumes, bastion hosts$/),
        nodes: line(/root volumes, GitLab nodes$/),
        snapshot: line(/^the AMI's snapshot/),
        total: cost.total,
      };
    };
    // Offline: each image family's usual size, the official GitLab AMI's 20 GiB, not the 8 of Ubuntu.
    expect(USUAL_ROOT_VOLUMES).toEqual({ gitlab: IMAGE_ROOT_GIB.gitlab, bastion: IMAGE_ROOT_GIB.ubuntu });
    expect(IMAGE_ROOT_GIB.gitlab).not.toBe(IMAGE_ROOT_GIB.ubuntu);
    const usual = rootLines(USUAL_ROOT_VOLUMES);
    expect(usual.bastions).toMatchObject({ quantity: count('bastion-hosts') * IMAGE_ROOT_GIB.ubuntu, unitPrice: gp3 });
    expect(usual.nodes).toMatchObject({
      what: `${nodes} × ${IMAGE_ROOT_GIB.gitlab} GiB gp3 root volumes, GitLab nodes`,
      quantity: nodes * IMAGE_ROOT_GIB.gitlab,
    });
    expect(usual.snapshot).toMatchObject({ quantity: IMAGE_ROOT_GIB.gitlab, unitPrice: snapshot });
    // Images that declare other sizes move exactly those lines, and the total by as much.
    const larger = { gitlab: IMAGE_ROOT_GIB.gitlab + 10, bastion: IMAGE_ROOT_GIB.ubuntu + 2 };
    const asked = rootLines(larger);
    expect(asked.nodes.quantity).toBe(nodes * larger.gitlab);
    expect(asked.bastions.quantity).toBe(count('bastion-hosts') * larger.bastion);
    expect(asked.snapshot.quantity).toBe(larger.gitlab);
    const more = (a: { monthly?: number }, b: { monthly?: number }) => a.monthly! - b.monthly!;
    expect(asked.total - usual.total).toBeCloseTo(
      more(asked.nodes, usual.nodes) + more(asked.bastions, usual.bastions) + more(asked.snapshot, usual.snapshot),
      2,
    );
    expect(more(asked.nodes, usual.nodes)).toBeCloseTo(nodes * 10 * gp3 * 1, 2);
  });

  test("where AWS is asked, the sizes DescribeImages declares for the resolved images are priced; unasked, each family's usual size, said in a note", async () => {
    const config = defaults();
    const declared = { gitlab: IMAGE_ROOT_GIB.gitlab + 15, ubuntu: IMAGE_ROOT_GIB.ubuntu + 4 };
    const image = (id: string, name: string, size: number): Image => ({
      ImageId: id,
      Name: name,
      State: 'available',
      Architecture: 'x86_64',
      RootDeviceName: '/dev/sda1',
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: size, SnapshotId: `snap-${id}` } }],
    });
    const gitlab = image('ami-0000000000000000a', 'GitLab EE 19.5.1', declared.gitlab);
    const ubuntu = image('ami-0000000000000000b', 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261015', declared.ubuntu);
    const clients = {
      ec2: async () =>
        ({
          describeImages: async (input: { Owners?: string[]; ImageIds?: string[] }) => ({
            Images: input.Owners?.includes(GITLAB_AMI_OWNER)
              ? [gitlab]
              : [gitlab, ubuntu].filter((i) => input.ImageIds?.includes(i.ImageId!)),
          }),
        }) as never,
      ssm: async () =>
        ({
          getParameter: async (input: { Name: string }) => ({
            Parameter: { Value: input.Name === UBUNTU_PARAMETER ? ubuntu.ImageId : undefined },
          }),
        }) as never,
    };
    const screen = (images: Parameters<typeof planScreen>[0]['images']) =>
      planScreen({ config, sandbox: false, statusOf: pending, pricing: { none: 'test' }, images });
    const line = (cost: { lines: Array<{ what: string; quantity: number }> }, what: RegExp) => cost.lines.find((l) => what.test(l.what))!;

    const asked = (await screen({ clients })).cost;
    expect(line(asked, /root volumes, GitLab nodes$/).quantity).toBe(config.autoScaling.desired * declared.gitlab);
    expect(line(asked, /root volumes, bastion hosts$/).quantity).toBe(2 * declared.ubuntu);
    expect(line(asked, /^the AMI's snapshot/).quantity).toBe(declared.gitlab);
    expect(asked.notes.some((n) => n.startsWith('root volumes at'))).toBe(false);

    // A recorded machine-images step is read instead of asking again.
    const recorded = {
      gitlab: {
        imageId: 'ami-1',
        name: 'GitLab EE 19.5.1',
        rootDeviceName: '/dev/sda1',
        rootSizeGib: 50,
        edition: 'ee',
        version: '19.5.1',
      },
      bastion: { imageId: 'ami-2', name: 'ubuntu', rootDeviceName: '/dev/sda1', rootSizeGib: 12 },
      gitaly: { imageId: 'ami-2', name: 'ubuntu', rootDeviceName: '/dev/sda1', rootSizeGib: 12 },
    };
    const fromState = (await screen({ clients, recorded })).cost;
    expect(line(fromState, /root volumes, GitLab nodes$/).quantity).toBe(config.autoScaling.desired * recorded.gitlab.rootSizeGib);
    expect(line(fromState, /^the AMI's snapshot/).quantity).toBe(recorded.gitlab.rootSizeGib);

    const unasked = (await screen({ none: 'offline' })).cost;
    expect(line(unasked, /root volumes, GitLab nodes$/).quantity).toBe(config.autoScaling.desired * IMAGE_ROOT_GIB.gitlab);
    expect(unasked.notes).toContain(
      `root volumes at their images' usual sizes (official GitLab AMI ${IMAGE_ROOT_GIB.gitlab} GiB, Ubuntu ${IMAGE_ROOT_GIB.ubuntu} GiB): offline`,
    );
  });
});

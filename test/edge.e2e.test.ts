import { describe, expect, it } from 'vitest';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { readState, statePaths } from '../src/state/store.js';
import { readWorld, runCli, sandboxInventory } from './helpers.js';
import { heldAndPlanned, planFor } from './plan-helpers.js';
import { sandboxFixtures } from './sandbox-fixtures.js';

/**
 * The guide's "Load Balancer" and "Configure DNS for Load Balancer": the certificate, the network
 * load balancer with its target groups and listeners, and the alias record, read back through
 * the SDK as an operator would read them with the AWS CLI.
 */
const fixtures = sandboxFixtures('gitlab-aws-edge-');
const install = (dir: string, args: string[] = [], env: Record<string, string> = {}) =>
  runCli(['install', '--sandbox', '--yes', '--state-dir', dir, ...args], env);
const teardown = (dir: string, args: string[] = []) => runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir, ...args]);
const look = async (dir: string): Promise<AwsSession> =>
  fixtures.keep(await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: dir } }));
const tag = (tags: Array<{ Key?: string; Value?: string }> | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value;

async function records(aws: AwsSession, zoneName: string) {
  const route53 = await aws.route53();
  const zone = (await route53.listHostedZonesByName({ DNSName: zoneName })).HostedZones!.find((z) => z.Name === zoneName)!;
  return (await route53.listResourceRecordSets({ HostedZoneId: zone.Id! })).ResourceRecordSets!;
}

describe('edge: certificate, network load balancer, DNS', () => {
  it('builds what the guide lists, as the plan says, and tears it down to nothing but the account zone', async () => {
    const dir = await fixtures.stateDir();
    const plan = await planFor(dir);
    const run = await install(dir);
    expect(run.code, run.stderr).toBe(0);
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);

    const aws = await look(dir);
    const elb = await aws.elbv2();
    const ec2 = await aws.ec2();
    const mine = [{ Name: 'tag:gitlab-aws:deployment', Values: ['gitlab'] }];
    const subnets = (await ec2.describeSubnets({ Filters: mine })).Subnets!;
    const publicIds = subnets.filter((s) => tag(s.Tags, 'Name')!.startsWith('gitlab-public-')).map((s) => s.SubnetId);
    const groups = (await ec2.describeSecurityGroups({ Filters: mine })).SecurityGroups!;
    const lbGroup = groups.find((g) => g.GroupName === 'gitlab-loadbalancer-sec-group')!.GroupId;

    const lb = (await elb.describeLoadBalancers({ Names: ['gitlab-loadbalancer'] })).LoadBalancers![0]!;
    expect(lb).toMatchObject({ Type: 'network', Scheme: 'internet-facing', IpAddressType: 'ipv4', State: { Code: 'active' } });
    expect(lb.AvailabilityZones!.map((z) => z.SubnetId).sort()).toEqual(publicIds.sort());
    expect(lb.SecurityGroups).toEqual([lbGroup]);

    const [http, ssh] = (await elb.describeTargetGroups({ Names: ['gitlab-loadbalancer-http-target', 'gitlab-loadbalancer-ssh-target'] }))
      .TargetGroups!;
    expect(http).toMatchObject({
      Protocol: 'TCP',
      Port: 80,
      TargetType: 'instance',
      HealthCheckProtocol: 'HTTP',
      HealthCheckPath: '/-/readiness',
      Matcher: { HttpCode: '200' },
    });
    expect(ssh).toMatchObject({ Protocol: 'TCP', Port: 22, TargetType: 'instance', HealthCheckProtocol: 'TCP' });
    const attributes = async (arn: string) =>
      Object.fromEntries(
        ((await elb.describeTargetGroupAttributes({ TargetGroupArn: arn })).Attributes ?? []).map((a) => [a.Key, a.Value]),
      );
    expect(await attributes(http!.TargetGroupArn!)).toMatchObject({
      'proxy_protocol_v2.enabled': 'false',
      'preserve_client_ip.enabled': 'true',
    });

    const certificate = (await (await aws.acm()).listCertificates({})).CertificateSummaryList!;
    expect(certificate).toEqual([expect.objectContaining({ DomainName: 'gitlab.example.com', Status: 'ISSUED', Type: 'AMAZON_ISSUED' })]);
    const arn = certificate[0]!.CertificateArn;

    const listeners = (await elb.describeListeners({ LoadBalancerArn: lb.LoadBalancerArn! })).Listeners!;
    expect(
      listeners.map((l) => [l.Port, l.Protocol, l.DefaultActions![0]!.TargetGroupArn, l.Certificates?.[0]?.CertificateArn, l.SslPolicy]),
    ).toEqual([
      [22, 'TCP', ssh!.TargetGroupArn, undefined, undefined],
      [80, 'TCP', http!.TargetGroupArn, undefined, undefined],
      [443, 'TLS', http!.TargetGroupArn, arn, 'ELBSecurityPolicy-TLS13-1-2-2021-06'],
    ]);

    // The alias record and the certificate's validation record, in the sandbox account's own zone.
    const sets = await records(aws, 'example.com.');
    expect(sets.find((r) => r.Name === 'gitlab.example.com.' && r.Type === 'A')).toEqual({
      Name: 'gitlab.example.com.',
      Type: 'A',
      AliasTarget: { DNSName: `${lb.DNSName}.`, HostedZoneId: lb.CanonicalHostedZoneId, EvaluateTargetHealth: false },
    });
    const validation = (await (await aws.acm()).describeCertificate({ CertificateArn: arn })).Certificate!.DomainValidationOptions![0]!;
    expect(sets.find((r) => r.Type === 'CNAME')?.ResourceRecords).toEqual([{ Value: validation.ResourceRecord!.Value }]);
    // The plan said which domain and zone; the state records the proxy-protocol choice for GitLab's configuration.
    expect((await runCli(['plan', '--sandbox', '--state-dir', dir])).stdout).toContain(
      "Domain: gitlab.example.com (alias A record to the load balancer) in the sandbox account's zone example.com",
    );
    const state = await readState(statePaths(dir, 'gitlab').file);
    expect(state!.steps['load-balancer']!.outputs).toMatchObject({ proxyProtocol: false, dnsName: lb.DNSName });
    await aws.close();
    fixtures.closed(aws);

    const down = await teardown(dir);
    expect(down.code, down.stderr).toBe(0);
    expect(await sandboxInventory(dir)).toEqual([]);
    const after = await look(dir);
    expect((await (await after.elbv2()).describeTargetGroups({})).TargetGroups).toEqual([]);
    expect((await (await after.acm()).listCertificates({})).CertificateSummaryList).toEqual([]);
    // The account's zone stays (not ours), holding only its own SOA and NS again.
    expect((await records(after, 'example.com.')).map((r) => r.Type).sort()).toEqual(['NS', 'SOA']);
  });

  it('turns proxy protocol v2 on for the HTTP target group only, when asked', async () => {
    const dir = await fixtures.stateDir();
    const run = await install(dir, ['--proxy-protocol']);
    expect(run.code, run.stderr).toBe(0);
    const elb = await (await look(dir)).elbv2();
    const proxy = async (name: string) => {
      const arn = (await elb.describeTargetGroups({ Names: [name] })).TargetGroups![0]!.TargetGroupArn!;
      return (await elb.describeTargetGroupAttributes({ TargetGroupArn: arn })).Attributes!.find(
        (a) => a.Key === 'proxy_protocol_v2.enabled',
      )?.Value;
    };
    expect(await proxy('gitlab-loadbalancer-http-target')).toBe('true');
    expect(await proxy('gitlab-loadbalancer-ssh-target')).toBe('false');
    const state = await readState(statePaths(dir, 'gitlab').file);
    expect(state!.steps['load-balancer']!.outputs).toMatchObject({ proxyProtocol: true });
  });

  it('creates a zone when agreed, prints its name servers, and keeps it at teardown while it holds records not ours', async () => {
    const dir = await fixtures.stateDir();
    const answers = ['--domain', 'gitlab.corp.test', '--create-hosted-zone'];
    const plan = await planFor(dir, answers);
    const run = await install(dir, answers);
    expect(run.code, run.stderr).toBe(0);
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);
    expect(run.stdout + run.stderr).toMatch(/Hosted zone corp\.test\. was created: set its name servers at your registrar: ns-\d+\.awsdns/);
    const aws = await look(dir);
    const route53 = await aws.route53();
    const zone = (await route53.listHostedZonesByName({ DNSName: 'corp.test.' })).HostedZones!.find((z) => z.Name === 'corp.test.')!;
    const tags = (await route53.listTagsForResource({ ResourceType: 'hostedzone', ResourceId: zone.Id!.split('/').pop()! })).ResourceTagSet!
      .Tags;
    expect(tag(tags, 'gitlab-aws:deployment')).toBe('gitlab');
    // Someone adds a record of their own to the zone we made.
    await route53.changeResourceRecordSets({
      HostedZoneId: zone.Id!,
      ChangeBatch: {
        Changes: [
          {
            Action: 'CREATE',
            ResourceRecordSet: { Name: 'mail.corp.test', Type: 'MX', TTL: 300, ResourceRecords: [{ Value: '10 mx.corp.test' }] },
          },
        ],
      },
    });
    await aws.close();
    fixtures.closed(aws);

    const down = await teardown(dir);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout + down.stderr).toMatch(/Kept hosted zone\(s\) corp\.test\. \(Z\w+\): they hold DNS records that are not ours\./);
    const after = await look(dir);
    const left = (await records(after, 'corp.test.')).map((r) => `${r.Name} ${r.Type}`).sort();
    expect(left).toEqual(['corp.test. NS', 'corp.test. SOA', 'mail.corp.test. MX']);
    expect((await sandboxInventory(dir)).map((r) => r.type)).toEqual(['AWS::Route53::HostedZone']);
  });

  it('uses an existing certificate that covers the domain, and leaves it in place at teardown', async () => {
    const dir = await fixtures.stateDir();
    const seed = await seedWithCertificate(dir);
    const world = async () => (await readWorld(dir))!;
    // The seed's certificate ARN is known once the account exists: a plan-free status makes it.
    await runCli(['status', '--sandbox', '--discover', '--state-dir', dir, '--region', 'us-west-2'], seed);
    const arn = Object.keys((await world()).acm.certificates)[0]!;
    const run = await install(dir, ['--certificate-arn', arn], seed);
    expect(run.code, run.stderr).toBe(0);
    const aws = await look(dir);
    const lb = (await (await aws.elbv2()).describeLoadBalancers({ Names: ['gitlab-loadbalancer'] })).LoadBalancers![0]!;
    const tls = (await (await aws.elbv2()).describeListeners({ LoadBalancerArn: lb.LoadBalancerArn! })).Listeners!.find(
      (l) => l.Port === 443,
    )!;
    expect(tls.Certificates).toEqual([{ CertificateArn: arn }]);
    expect((await (await aws.acm()).listCertificates({})).CertificateSummaryList).toHaveLength(1);
    await aws.close();
    fixtures.closed(aws);
    expect((await teardown(dir)).code).toBe(0);
    expect(Object.keys((await world()).acm.certificates)).toEqual([arn]);
  });
});

describe('the edge deleted by hand', () => {
  it('a load balancer and its listeners deleted out of band are made again, and the alias record follows the new one', async () => {
    const dir = await fixtures.stateDir();
    expect((await install(dir)).code).toBe(0);
    const before = await look(dir);
    const elb = await before.elbv2();
    const old = (await elb.describeLoadBalancers({ Names: ['gitlab-loadbalancer'] })).LoadBalancers![0]!;
    for (const l of (await elb.describeListeners({ LoadBalancerArn: old.LoadBalancerArn! })).Listeners ?? []) {
      await elb.deleteListener({ ListenerArn: l.ListenerArn! });
    }
    await elb.deleteLoadBalancer({ LoadBalancerArn: old.LoadBalancerArn! });
    await before.close();
    fixtures.closed(before);

    const again = await install(dir);
    expect(again.code, again.stderr).toBe(0);
    const after = await look(dir);
    const lbs = (await (await after.elbv2()).describeLoadBalancers({ Names: ['gitlab-loadbalancer'] })).LoadBalancers ?? [];
    const alias = (await records(after, 'example.com.')).find((r) => r.Type === 'A')!;
    const listeners = (await (await after.elbv2()).describeListeners({ LoadBalancerArn: lbs[0]!.LoadBalancerArn! })).Listeners ?? [];
    expect(lbs.map((lb) => lb.State?.Code)).toEqual(['active']);
    expect(lbs[0]!.LoadBalancerArn).not.toBe(old.LoadBalancerArn);
    expect(listeners.map((l) => l.Port).sort()).toEqual([22, 443, 80]);
    expect(alias.AliasTarget?.DNSName?.replace(/\.$/, '')).toBe(lbs[0]!.DNSName!.replace(/\.$/, '').replace(/^dualstack\./, ''));
  });
});

describe('a validation record another certificate shares', () => {
  it('is kept by the teardown while a certificate not ours is validated by it', async () => {
    const dir = await fixtures.stateDir();
    const file = join(dir, '..', `${dir.split('/').pop()}-seed.json`);
    // Someone else's certificate for the same name: ACM validates both by one record.
    const call = { service: 'acm', call: 'RequestCertificate', input: { DomainName: 'gitlab.example.com', ValidationMethod: 'DNS' } };
    await writeFile(file, JSON.stringify({ calls: [call] }));
    const seed = { GITLAB_AWS_SANDBOX_SEED: file };
    expect((await install(dir, [], seed)).code).toBe(0);
    const torn = await teardown(dir);
    expect(torn.code, torn.stderr).toBe(0);

    const aws = await look(dir);
    const route53 = await aws.route53();
    const zone = (await route53.listHostedZonesByName({ DNSName: 'example.com' })).HostedZones![0]!;
    const records = (await route53.listResourceRecordSets({ HostedZoneId: zone.Id! })).ResourceRecordSets ?? [];
    const theirs = (await (await aws.acm()).listCertificates({ CertificateStatuses: ['PENDING_VALIDATION', 'ISSUED'] }))
      .CertificateSummaryList;
    await aws.close();
    fixtures.closed(aws);
    expect(theirs).toHaveLength(1);
    expect(records.filter((r) => r.Type === 'CNAME').map((r) => r.Name)).toEqual([expect.stringMatching(/^_\w+\.gitlab\.example\.com\.$/)]);
  });
});

/** A seed: the account's zone example.com and an imported certificate for gitlab.example.com. */
async function seedWithCertificate(dir: string): Promise<Record<string, string>> {
  const fixture = (name: string) => readFile(join(import.meta.dirname, 'fixtures', name), 'utf8');
  const file = join(dir, '..', `${dir.split('/').pop()}-seed.json`);
  await writeFile(
    file,
    JSON.stringify({
      startEmpty: true,
      calls: [
        { service: 'route53', call: 'CreateHostedZone', input: { Name: 'example.com', CallerReference: 'theirs' } },
        {
          service: 'acm',
          call: 'ImportCertificate',
          input: { Certificate: await fixture('gitlab.example.com.crt'), PrivateKey: await fixture('gitlab.example.com.key') },
        },
      ],
    }),
  );
  return { GITLAB_AWS_SANDBOX_SEED: file };
}

/** Every file under `dir` with its text: "untouched" is compared on this. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if ((await stat(path)).isDirectory()) files[`${name}/`] = '(folder)';
    else files[name] = await readFile(path, 'utf8');
  }
  return files;
}

describe('edge answers refused before anything is created', () => {
  async function refused(args: string[], env: Record<string, string> = {}, prepare?: (dir: string) => Promise<void>) {
    const dir = await fixtures.stateDir();
    await prepare?.(dir);
    const before = await snapshot(dir);
    const run = await runCli(['install', '--yes', '--state-dir', dir, ...args], env);
    expect(run.code, run.stderr).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(await snapshot(dir)).toEqual(before);
    return lines[0]!;
  }

  it('a domain no zone holds, without consent to create one', async () => {
    expect(await refused(['--sandbox', '--domain', 'gitlab.nowhere.test'])).toMatch(
      /^error: no public Route 53 hosted zone in this account holds gitlab\.nowhere\.test \(fix: .*--create-hosted-zone/,
    );
  });

  it('no domain on real AWS', async () => {
    // --yes answers the wizard's domain question with its default, none, which the question refuses.
    expect(await refused(['--region', 'us-west-2'])).toMatch(/^error: --yes cannot answer 'domain' .*no domain given: .*; pass --domain /);
  });

  it('a domain that is no host name', async () => {
    expect(await refused(['--sandbox', '--domain', 'gitlab_example'])).toMatch(
      /^error: domain 'gitlab_example' is not a host name \(fix: /,
    );
  });

  it('a certificate of another region', async () => {
    const arn = 'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
    expect(await refused(['--sandbox', '--certificate-arn', arn])).toMatch(/is in eu-west-1, not us-west-2: a load balancer takes/);
  });

  it('a certificate that does not cover the domain', async () => {
    const dir = await fixtures.stateDir();
    const env = await seedWithCertificate(dir);
    // The seeded certificate's ARN is known once the account exists: status --discover makes it.
    await runCli(['status', '--sandbox', '--discover', '--state-dir', dir, '--region', 'us-west-2'], env);
    const arn = Object.keys((await readWorld(dir))!.acm.certificates)[0]!;
    const before = await snapshot(dir);
    const run = await runCli(
      ['install', '--sandbox', '--yes', '--state-dir', dir, '--domain', 'git.example.com', '--certificate-arn', arn],
      env,
    );
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim()).toMatch(
      new RegExp(
        `^error: certificate ${arn} cannot serve git\\.example\\.com: it covers gitlab\\.example\\.com, registry\\.gitlab\\.example\\.com, not git\\.example\\.com \\(fix: `,
      ),
    );
    expect(await snapshot(dir)).toEqual(before);
  });
});

/** Why the delete fails, past the few lookups a fresh subnet is invisible for (eventual consistency). */
async function deleteSubnetRefusal(attempt: () => Promise<unknown>): Promise<string> {
  for (;;) {
    try {
      await attempt();
      return 'deleted';
    } catch (err) {
      if ((err as Error).name !== 'InvalidSubnetID.NotFound') return (err as Error).name;
    }
  }
}

describe("the sandbox's load balancers, zones and certificates keep AWS's rules", () => {
  it("an NLB's interfaces hold its subnet after it is gone; a target group in use and a zone with records refuse deletion", async () => {
    const dir = await fixtures.stateDir();
    const aws = await look(dir);
    const ec2 = await aws.ec2();
    const vpc = (await ec2.createVpc({ CidrBlock: '10.7.0.0/16' })).Vpc!.VpcId!;
    const subnet = (await ec2.createSubnet({ VpcId: vpc, CidrBlock: '10.7.0.0/24', AvailabilityZone: 'us-west-2a' })).Subnet!.SubnetId!;
    const elb = await aws.elbv2();
    const lb = (await elb.createLoadBalancer({ Name: 'probe', Type: 'network', Subnets: [subnet] })).LoadBalancers![0]!;
    expect(lb.State?.Code).toBe('provisioning');
    const tg = (await elb.createTargetGroup({ Name: 'probe-tg', Protocol: 'TCP', Port: 80, VpcId: vpc })).TargetGroups![0]!;
    await elb.createListener({
      LoadBalancerArn: lb.LoadBalancerArn!,
      Port: 80,
      Protocol: 'TCP',
      DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn! }],
    });
    await expect(elb.deleteTargetGroup({ TargetGroupArn: tg.TargetGroupArn! })).rejects.toMatchObject({ name: 'ResourceInUse' });
    await expect(elb.createLoadBalancer({ Name: 'probe', Type: 'network', Subnets: [subnet], Scheme: 'internal' })).rejects.toMatchObject({
      name: 'DuplicateLoadBalancerName',
    });
    await elb.deleteLoadBalancer({ LoadBalancerArn: lb.LoadBalancerArn! });
    await elb.deleteTargetGroup({ TargetGroupArn: tg.TargetGroupArn! });
    // The load balancer is gone, its interface lingers: the subnet cannot go yet.
    expect(await deleteSubnetRefusal(() => ec2.deleteSubnet({ SubnetId: subnet }))).toBe('DependencyViolation');

    const route53 = await aws.route53();
    const zone = (await route53.listHostedZonesByName({ DNSName: 'example.com' })).HostedZones![0]!;
    const record = { Name: 'x.example.com', Type: 'CNAME' as const, TTL: 60, ResourceRecords: [{ Value: 'y.example.com' }] };
    await route53.changeResourceRecordSets({
      HostedZoneId: zone.Id!,
      ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: record }] },
    });
    await expect(
      route53.changeResourceRecordSets({
        HostedZoneId: zone.Id!,
        ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: record }] },
      }),
    ).rejects.toMatchObject({ name: 'InvalidChangeBatch' });
    await expect(
      route53.changeResourceRecordSets({
        HostedZoneId: zone.Id!,
        ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: { ...record, TTL: 300 } }] },
      }),
    ).rejects.toMatchObject({ name: 'InvalidChangeBatch' });
    await expect(route53.deleteHostedZone({ Id: zone.Id! })).rejects.toMatchObject({ name: 'HostedZoneNotEmpty' });

    // A requested certificate waits for its validation record.
    const acm = await aws.acm();
    const arn = (await acm.requestCertificate({ DomainName: 'probe.example.com', ValidationMethod: 'DNS' })).CertificateArn!;
    const pending = (await acm.describeCertificate({ CertificateArn: arn })).Certificate!;
    expect(pending.Status).toBe('PENDING_VALIDATION');
    expect(pending.DomainValidationOptions![0]!.ResourceRecord).toMatchObject({
      Type: 'CNAME',
      Name: expect.stringMatching(/\.probe\.example\.com\.$/),
    });
  });
});

describe('a load balancer named like ours that is not ours', () => {
  it('stops the install naming it, and is never touched, not even by the teardown', async () => {
    const dir = await fixtures.stateDir();
    const file = join(dir, '..', `${dir.split('/').pop()}-foreign-lb.json`);
    await writeFile(
      file,
      JSON.stringify({
        calls: [
          { service: 'ec2', call: 'CreateVpc', input: { CidrBlock: '10.9.0.0/16' }, as: 'vpc' },
          {
            service: 'ec2',
            call: 'CreateSubnet',
            input: { VpcId: '${vpc.Vpc.VpcId}', CidrBlock: '10.9.0.0/24', AvailabilityZone: 'us-west-2a' },
            as: 'subnet',
          },
          {
            service: 'elbv2',
            call: 'CreateLoadBalancer',
            input: { Name: 'gitlab-loadbalancer', Type: 'network', Subnets: ['${subnet.Subnet.SubnetId}'] },
          },
        ],
      }),
    );
    const env = { GITLAB_AWS_SANDBOX_SEED: file };
    const run = await install(dir, [], env);
    // Refused by preflight, before anything is made.
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("load balancer gitlab-loadbalancer exists and does not belong to deployment 'gitlab'");
    const down = await runCli(['teardown', '--discover', '--sandbox', '--yes', '--state-dir', dir], env);
    expect(down.code, down.stderr).toBe(0);
    const elb = await (await look(dir)).elbv2();
    const left = (await elb.describeLoadBalancers({})).LoadBalancers!;
    expect(left.map((lb) => [lb.LoadBalancerName, lb.State?.Code])).toEqual([['gitlab-loadbalancer', 'active']]);
    expect(await sandboxInventory(dir)).toEqual([]);
  });
});

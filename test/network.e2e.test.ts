import { describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { runCli, sandboxInventory, tempDir } from './helpers.js';
import { heldAndPlanned, planFor } from './plan-helpers.js';

/**
 * The guide's network, security groups, buckets and secrets, checked the way an operator would
 * check them with the AWS CLI: by asking (the sandbox's) AWS, through the SDK.
 */
const install = (dir: string, ...args: string[]) => runCli(['install', '--sandbox', '--yes', '--state-dir', dir, ...args]);
const teardown = (dir: string, ...args: string[]) => runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir, ...args]);

async function look(dir: string): Promise<AwsSession> {
  return createAwsSession({ region: 'us-west-2', sandbox: { stateDir: dir } });
}

const tag = (tags: Array<{ Key?: string; Value?: string }> | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value;

async function ingress(aws: AwsSession, groupId: string) {
  const ec2 = await aws.ec2();
  const rules = (await ec2.describeSecurityGroupRules({ Filters: [{ Name: 'group-id', Values: [groupId] }] })).SecurityGroupRules ?? [];
  return rules
    .filter((r) => !r.IsEgress)
    .map((r) => `${r.IpProtocol}/${r.FromPort} from ${r.CidrIpv4 ?? r.CidrIpv6 ?? r.ReferencedGroupInfo?.GroupId}`)
    .sort();
}

describe('network and shared services', () => {
  it('builds the guide network: gateway, NAT per public subnet, route tables, security groups', async () => {
    const dir = await tempDir();
    const plan = await planFor(dir, ['--ssh-cidr', '198.51.100.0/24']);
    const run = await install(dir, '--ssh-cidr', '198.51.100.0/24');
    expect(run.code, run.stderr).toBe(0);
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);
    const aws = await look(dir);
    const ec2 = await aws.ec2();
    const mine = [{ Name: 'tag:gitlab-aws:deployment', Values: ['gitlab'] }];

    const vpc = (await ec2.describeVpcs({ Filters: mine })).Vpcs![0]!;
    const subnets = (await ec2.describeSubnets({ Filters: mine })).Subnets!;
    const subnet = (name: string) => subnets.find((s) => tag(s.Tags, 'Name') === name)!;

    const gateways = (await ec2.describeInternetGateways({ Filters: mine })).InternetGateways!;
    expect(gateways).toHaveLength(1);
    expect(tag(gateways[0]!.Tags, 'Name')).toBe('gitlab-gateway');
    expect(gateways[0]!.Attachments).toEqual([expect.objectContaining({ VpcId: vpc.VpcId, State: 'available' })]);
    const igw = gateways[0]!.InternetGatewayId!;

    const nats = (await ec2.describeNatGateways({ Filter: mine })).NatGateways!;
    expect(nats.map((n) => [tag(n.Tags, 'Name'), n.State, n.SubnetId]).sort()).toEqual([
      ['gitlab-nat-a', 'available', subnet('gitlab-public-10.0.0.0').SubnetId],
      ['gitlab-nat-b', 'available', subnet('gitlab-public-10.0.2.0').SubnetId],
    ]);
    // The NAT gateways' two; the bastions' two belong to the bastion-hosts step.
    const addresses = (await ec2.describeAddresses({ Filters: [...mine, { Name: 'tag:gitlab-aws:step', Values: ['nat-gateways'] }] }))
      .Addresses!;
    expect(addresses).toHaveLength(2);
    for (const nat of nats) {
      expect(addresses.map((a) => a.AllocationId)).toContain(nat.NatGatewayAddresses![0]!.AllocationId);
    }
    const natIn = (publicSubnet: string) => nats.find((n) => n.SubnetId === subnet(publicSubnet).SubnetId)!.NatGatewayId;

    const tables = (await ec2.describeRouteTables({ Filters: mine })).RouteTables!;
    const table = (name: string) => {
      const t = tables.find((x) => tag(x.Tags, 'Name') === name)!;
      return {
        defaultRoute: t.Routes!.filter((r) => r.DestinationCidrBlock === '0.0.0.0/0').map((r) => r.GatewayId ?? r.NatGatewayId),
        subnets: t.Associations!.map((a) => a.SubnetId).sort(),
      };
    };
    expect(tables).toHaveLength(3);
    expect(table('gitlab-public')).toEqual({
      defaultRoute: [igw],
      subnets: [subnet('gitlab-public-10.0.0.0').SubnetId, subnet('gitlab-public-10.0.2.0').SubnetId].sort(),
    });
    // Each private subnet leaves through the NAT gateway in its own AZ.
    expect(table('gitlab-private-a')).toEqual({
      defaultRoute: [natIn('gitlab-public-10.0.0.0')],
      subnets: [subnet('gitlab-private-10.0.1.0').SubnetId],
    });
    expect(table('gitlab-private-b')).toEqual({
      defaultRoute: [natIn('gitlab-public-10.0.2.0')],
      subnets: [subnet('gitlab-private-10.0.3.0').SubnetId],
    });
    expect(subnet('gitlab-public-10.0.0.0').AvailabilityZone).toBe(subnet('gitlab-private-10.0.1.0').AvailabilityZone);

    const groups = (await ec2.describeSecurityGroups({ Filters: mine })).SecurityGroups!;
    const id = (name: string) => groups.find((g) => g.GroupName === name)!.GroupId!;
    expect(groups.map((g) => g.GroupName).sort()).toEqual([
      'gitlab-bastion-sec-group',
      'gitlab-gitaly-sec-group',
      'gitlab-loadbalancer-sec-group',
      'gitlab-rds-sec-group',
      'gitlab-redis-sec-group',
    ]);
    const lb = id('gitlab-loadbalancer-sec-group');
    const bastion = id('gitlab-bastion-sec-group');
    expect(await ingress(aws, lb)).toEqual(
      [
        'tcp/22 from 198.51.100.0/24',
        `tcp/22 from ${bastion}`,
        // The load balancer shares the group: Git over SSH and the SSH target group's health checks.
        `tcp/22 from ${lb}`,
        'tcp/443 from 0.0.0.0/0',
        'tcp/443 from ::/0',
        'tcp/80 from 0.0.0.0/0',
        'tcp/80 from ::/0',
      ].sort(),
    );
    expect(await ingress(aws, id('gitlab-rds-sec-group'))).toEqual([`tcp/5432 from ${lb}`]);
    expect(await ingress(aws, id('gitlab-redis-sec-group'))).toEqual([`tcp/6379 from ${lb}`]);
    expect(await ingress(aws, bastion)).toEqual(['tcp/22 from 198.51.100.0/24']);
    expect(await ingress(aws, id('gitlab-gitaly-sec-group'))).toEqual([`tcp/22 from ${bastion}`, `tcp/8075 from ${lb}`].sort());
  });

  it('opens no SSH to the world by default, and only with a warning when asked', async () => {
    const closed = await tempDir();
    expect((await install(closed)).code).toBe(0);
    let aws = await look(closed);
    let groups = (await (await aws.ec2()).describeSecurityGroups({ Filters: [{ Name: 'tag:gitlab-aws:deployment', Values: ['gitlab'] }] }))
      .SecurityGroups!;
    for (const group of groups) {
      const rules = await ingress(aws, group.GroupId!);
      expect(rules.filter((r) => r.startsWith('tcp/22 from ') && !r.includes('sg-'))).toEqual([]);
    }

    const open = await tempDir();
    const run = await install(open, '--ssh-from-anywhere');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/warning: SSH .* open to the whole internet/);
    aws = await look(open);
    groups = (await (await aws.ec2()).describeSecurityGroups({ Filters: [{ Name: 'group-name', Values: ['gitlab-bastion-sec-group'] }] }))
      .SecurityGroups!;
    expect(await ingress(aws, groups[0]!.GroupId!)).toEqual(['tcp/22 from 0.0.0.0/0', 'tcp/22 from ::/0']);

    const refused = await runCli(['install', '--sandbox', '--yes', '--state-dir', await tempDir(), '--ssh-cidr', '0.0.0.0/0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/whole internet.*sshFromAnywhere/);
  });

  it('makes private, encrypted, tagged buckets that the instance role may use, and nothing else', async () => {
    const dir = await tempDir();
    const plan = await planFor(dir, ['--bucket-prefix', 'acme-gl']);
    expect((await install(dir, '--bucket-prefix', 'acme-gl')).code).toBe(0);
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);
    const aws = await look(dir);
    const s3 = await aws.s3();
    const types = [
      'artifacts',
      'external-diffs',
      'lfs',
      'uploads',
      'packages',
      'dependency-proxy',
      'terraform-state',
      'ci-secure-files',
      'pages',
      'agent-plan-content',
      'backups',
    ];
    const buckets = types.map((t) => `acme-gl-${t}`);
    for (const bucket of buckets) {
      expect((await s3.getPublicAccessBlock({ Bucket: bucket })).PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      });
      const encryption = (await s3.getBucketEncryption({ Bucket: bucket })).ServerSideEncryptionConfiguration!.Rules![0]!;
      expect(encryption.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256');
      expect(tag((await s3.getBucketTagging({ Bucket: bucket })).TagSet, 'gitlab-aws:deployment')).toBe('gitlab');
    }

    const iam = await aws.iam();
    const account = (await (await aws.sts()).getCallerIdentity({})).Account!;
    const policy = await iam.getPolicy({ PolicyArn: `arn:aws:iam::${account}:policy/gitlab-gl-s3-policy` });
    const version = await iam.getPolicyVersion({ PolicyArn: policy.Policy!.Arn!, VersionId: policy.Policy!.DefaultVersionId! });
    const statements = JSON.parse(decodeURIComponent(version.PolicyVersion!.Document!)).Statement;
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:PutObjectAcl'],
        Resource: buckets.map((b) => `arn:aws:s3:::${b}/*`),
      },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:ListBucketMultipartUploads'],
        Resource: buckets.map((b) => `arn:aws:s3:::${b}`),
      },
      {
        Effect: 'Allow',
        Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
        Resource: [
          `arn:aws:ssm:us-west-2:${account}:parameter/gitlab-aws/gitlab`,
          `arn:aws:ssm:us-west-2:${account}:parameter/gitlab-aws/gitlab/*`,
        ],
      },
      {
        // Only below generated/: the base stores what its reconfigure generated; no node can overwrite our secrets.
        Effect: 'Allow',
        Action: ['ssm:PutParameter', 'ssm:AddTagsToResource'],
        Resource: [`arn:aws:ssm:us-west-2:${account}:parameter/gitlab-aws/gitlab/generated/*`],
      },
    ]);

    const ssm = await aws.ssm();
    const parameters = (await ssm.getParametersByPath({ Path: '/gitlab-aws/gitlab', Recursive: true })).Parameters ?? [];
    let all = [...parameters];
    let next = (await ssm.getParametersByPath({ Path: '/gitlab-aws/gitlab', Recursive: true })).NextToken;
    while (next) {
      const page = await ssm.getParametersByPath({ Path: '/gitlab-aws/gitlab', Recursive: true, NextToken: next });
      all = [...all, ...(page.Parameters ?? [])];
      next = page.NextToken;
    }
    expect(all.map((p) => p.Name).sort()).toEqual(
      [
        'database-password',
        'gitaly-token',
        'gitlab-shell-secret',
        'rails/ci-jwt-signing-key',
        'rails/db-key-base',
        'rails/encrypted-settings-key-base',
        'rails/openid-connect-signing-key',
        'rails/otp-key-base',
        'rails/secret-key-base',
        'redis-auth-token',
        'root-password',
      ].map((n) => `/gitlab-aws/gitlab/${n}`),
    );
    expect(new Set(all.map((p) => p.Type))).toEqual(new Set(['SecureString']));
  });

  it('tears down to nothing; without --delete-data it keeps only the buckets holding data and says which', async () => {
    const dir = await tempDir();
    const plan = await planFor(dir);
    expect((await install(dir)).code).toBe(0);
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);

    const aws = await look(dir);
    const s3 = await aws.s3();
    const account = (await (await aws.sts()).getCallerIdentity({})).Account!;
    const used = [`gl-gitlab-${account}-artifacts`, `gl-gitlab-${account}-backups`];
    for (const bucket of used) await s3.putObject({ Bucket: bucket, Key: 'some/object', Body: 'data' });
    await aws.close();

    const first = await teardown(dir, '--verbose');
    expect(first.code, first.stderr).toBe(0);
    // AWS's quirks, met and waited out: a NAT gateway takes a while to go, and its address
    // refuses release (AuthFailure) for a while after that.
    expect(first.stdout).toMatch(/waiting for NAT gateway nat-\w+ to be deleted: deleting/);
    expect(first.stdout).toMatch(/waiting for Elastic IP eipalloc-\w+ to be releasable: AuthFailure/);
    expect(first.stdout).toContain(`Kept 2 S3 bucket(s) that hold data: ${used.join(', ')}`);
    expect(first.stdout).toContain('--delete-data');
    expect((await sandboxInventory(dir)).map((r) => `${r.type} ${r.id}`).sort()).toEqual(used.map((b) => `AWS::S3::Bucket ${b}`).sort());

    const second = await teardown(dir, '--delete-data');
    expect(second.code, second.stderr).toBe(0);
    expect(await sandboxInventory(dir)).toEqual([]);
    const discovered = await runCli(['status', '--sandbox', '--discover', '--json', '--state-dir', dir]);
    expect(JSON.parse(discovered.stdout).resources).toEqual([]);
  });

  it('never lets a generated secret into the state file, the log file or the output', async () => {
    const dir = await tempDir();
    const runs = [
      await install(dir, '--verbose'),
      await runCli(['status', '--sandbox', '--json', '--state-dir', dir]),
      await runCli(['resume', '--sandbox', '--yes', '--json', '--state-dir', dir]),
    ];
    const aws = await look(dir);
    const ssm = await aws.ssm();
    const names = (
      await ssm.describeParameters({
        ParameterFilters: [{ Key: 'Path', Option: 'Recursive', Values: ['/gitlab-aws/gitlab'] }],
        MaxResults: 50,
      })
    ).Parameters!.map((p) => p.Name!);
    expect(names.length).toBeGreaterThanOrEqual(11);
    const values = await Promise.all(names.map(async (Name) => (await ssm.getParameter({ Name, WithDecryption: true })).Parameter!.Value!));
    await aws.close();

    const files = await readdir(dir);
    const written = await Promise.all(files.filter((f) => f !== 'sandbox-world.json').map((f) => readFile(join(dir, f), 'utf8')));
    expect(files).toContain('gitlab.log');
    const everything = [...written, ...runs.flatMap((r) => [r.stdout, r.stderr])].join('\n');
    for (const value of values) {
      for (const piece of value.split('\n').filter((l) => l.length >= 16)) expect(everything).not.toContain(piece);
    }

    // Shown only when asked for.
    const shown = await runCli(['root-password', '--sandbox', '--state-dir', dir]);
    expect(shown.code).toBe(0);
    expect(values).toContain(shown.stdout.trim());
  });
});

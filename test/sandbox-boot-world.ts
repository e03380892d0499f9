import type { EC2 } from '@aws-sdk/client-ec2';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { AWS_MINUTES, MINUTE } from '../src/aws/durations.js';
import { multipart } from '../src/gitlab/cloud-init.js';
import { instancePolicyDocument } from '../src/steps/iam-role.js';

/**
 * A deployment's first half built by hand through the SDK on the sandbox (network, NAT, groups,
 * role, secrets, database, cache, load balancer), and user-data written by hand after
 * docs/compute-contract.md: what the boot simulator's tests launch instances into. Each option
 * breaks one thing the contract's checks look at.
 */
export const REGION = 'us-west-2';
export const ACCOUNT = '123456789012';
export const PATH = '/gitlab-aws/demo';
export const SECRET_VALUES: Record<string, string> = {
  'database-password': 'db-password-0123456789abcdef',
  'redis-auth-token': 'redis-token-0123456789abcdef',
  'gitaly-token': 'gitaly-token-0123456789abcdef',
  'gitlab-shell-secret': 'f00dfeed'.repeat(8),
  'root-password': 'root-password-0123456789abcdef',
};

export interface WorldOptions {
  /** Leave out one security group rule. */
  withoutRule?: 'rds-5432' | 'redis-6379' | 'gitaly-8075' | 'gitlab-80';
  /** The role's policy may read only these resources (default: the deployment's path). */
  policyResource?: string;
  /** No route from the private subnets to the NAT gateway. */
  withoutNatRoute?: boolean;
  /** Proxy protocol v2 on the HTTP target group. */
  proxyProtocol?: boolean;
  /** Every secret of src/steps/secrets.ts, as the renderers' user-data fetches them all. */
  allSecrets?: boolean;
}

/** The secrets the hand-written scripts leave out (gitlab-secrets.json's Rails keys). */
const OTHER_SECRETS: Record<string, string> = Object.fromEntries(
  ['secret-key-base', 'db-key-base', 'otp-key-base', 'encrypted-settings-key-base', 'openid-connect-signing-key', 'ci-jwt-signing-key'].map(
    (name) => [`rails/${name}`, `${name}-value-0123456789`],
  ),
);

export interface DeploymentWorld {
  aws: AwsSession;
  ec2: EC2;
  vpcCidr: string;
  privateSubnetA: string;
  groups: { lb: string; gitlab: string; gitaly: string; rds: string; redis: string };
  profile: string;
  dbHost: string;
  redisHost: string;
  targetGroupArn: string;
  ubuntuImage: string;
  gitlabImage: string;
}

export async function buildWorld(stateDir: string, options: WorldOptions = {}): Promise<DeploymentWorld> {
  const aws = await createAwsSession({ region: REGION, sandbox: { stateDir } });
  const ec2 = await aws.ec2();
  const vpcCidr = '10.0.0.0/16';
  const vpcId = (await ec2.createVpc({ CidrBlock: vpcCidr })).Vpc!.VpcId!;
  const subnet = async (cidr: string, zone: string) =>
    (await ec2.createSubnet({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: `${REGION}${zone}` })).Subnet!.SubnetId!;
  const publicA = await subnet('10.0.0.0/24', 'a');
  const publicB = await subnet('10.0.1.0/24', 'b');
  const privateA = await subnet('10.0.10.0/24', 'a');
  const privateB = await subnet('10.0.11.0/24', 'b');
  const igw = (await ec2.createInternetGateway({})).InternetGateway!.InternetGatewayId!;
  await ec2.attachInternetGateway({ InternetGatewayId: igw, VpcId: vpcId });
  const publicTable = (await ec2.createRouteTable({ VpcId: vpcId })).RouteTable!.RouteTableId!;
  await ec2.createRoute({ RouteTableId: publicTable, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw });
  for (const s of [publicA, publicB]) await ec2.associateRouteTable({ RouteTableId: publicTable, SubnetId: s });
  const allocation = (await ec2.allocateAddress({ Domain: 'vpc' })).AllocationId!;
  const nat = (await ec2.createNatGateway({ SubnetId: publicA, AllocationId: allocation })).NatGateway!.NatGatewayId!;
  const privateTable = (await ec2.createRouteTable({ VpcId: vpcId })).RouteTable!.RouteTableId!;
  if (!options.withoutNatRoute) {
    await ec2.createRoute({ RouteTableId: privateTable, DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: nat });
  }
  for (const s of [privateA, privateB]) await ec2.associateRouteTable({ RouteTableId: privateTable, SubnetId: s });

  const group = async (name: string) => (await ec2.createSecurityGroup({ GroupName: name, Description: name, VpcId: vpcId })).GroupId!;
  const groups = {
    lb: await group('lb'),
    gitlab: await group('gitlab'),
    gitaly: await group('gitaly'),
    rds: await group('rds'),
    redis: await group('redis'),
  };
  const allow = async (rule: WorldOptions['withoutRule'], to: string, port: number, from: string) => {
    if (options.withoutRule === rule) return;
    await ec2.authorizeSecurityGroupIngress({
      GroupId: to,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: port, ToPort: port, UserIdGroupPairs: [{ GroupId: from }] }],
    });
  };
  await allow('gitlab-80', groups.gitlab, 80, groups.lb);
  await allow(undefined, groups.gitlab, 22, groups.lb);
  await allow('rds-5432', groups.rds, 5432, groups.gitlab);
  await allow('redis-6379', groups.redis, 6379, groups.gitlab);
  await allow('gitaly-8075', groups.gitaly, 8075, groups.gitlab);

  const iam = await aws.iam();
  const policy = await iam.createPolicy({
    PolicyName: 'demo-instance-policy',
    // The install's own policy, unless a test narrows what the role may read.
    PolicyDocument: options.policyResource
      ? JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['ssm:GetParameter', 'ssm:GetParameters'], Resource: options.policyResource }],
        })
      : instancePolicyDocument(['demo-artifacts'], `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${PATH}`),
  });
  await iam.createRole({
    RoleName: 'demo-instance-role',
    AssumeRolePolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    }),
  });
  await iam.attachRolePolicy({ RoleName: 'demo-instance-role', PolicyArn: policy.Policy!.Arn! });
  await iam.createInstanceProfile({ InstanceProfileName: 'demo-instance-profile' });
  await iam.addRoleToInstanceProfile({ InstanceProfileName: 'demo-instance-profile', RoleName: 'demo-instance-role' });

  const ssm = await aws.ssm();
  for (const [name, value] of Object.entries({ ...SECRET_VALUES, ...(options.allSecrets ? OTHER_SECRETS : {}) })) {
    await ssm.putParameter({ Name: `${PATH}/${name}`, Value: value, Type: 'SecureString' });
  }

  const rds = await aws.rds();
  await rds.createDBSubnetGroup({ DBSubnetGroupName: 'demo-db', DBSubnetGroupDescription: 'db', SubnetIds: [privateA, privateB] });
  await rds.createDBInstance({
    DBInstanceIdentifier: 'demo-db',
    Engine: 'postgres',
    EngineVersion: '17.5',
    DBInstanceClass: 'db.m5.large',
    StorageType: 'gp2',
    AllocatedStorage: 100,
    MultiAZ: true,
    DBName: 'gitlabhq_production',
    MasterUsername: 'gitlab',
    MasterUserPassword: SECRET_VALUES['database-password'],
    DBSubnetGroupName: 'demo-db',
    VpcSecurityGroupIds: [groups.rds],
  });
  const cache = await aws.elasticache();
  await cache.createCacheSubnetGroup({
    CacheSubnetGroupName: 'demo-redis',
    CacheSubnetGroupDescription: 'redis',
    SubnetIds: [privateA, privateB],
  });
  await cache.createReplicationGroup({
    ReplicationGroupId: 'demo-redis',
    ReplicationGroupDescription: 'redis',
    Engine: 'valkey',
    CacheNodeType: 'cache.m5.large',
    NumCacheClusters: 2,
    AutomaticFailoverEnabled: true,
    MultiAZEnabled: true,
    Port: 6379,
    CacheSubnetGroupName: 'demo-redis',
    SecurityGroupIds: [groups.redis],
    AtRestEncryptionEnabled: true,
    TransitEncryptionEnabled: true,
    AuthToken: SECRET_VALUES['redis-auth-token'],
  });

  const elb = await aws.elbv2();
  const lb = (
    await elb.createLoadBalancer({
      Name: 'demo-nlb',
      Type: 'network',
      Scheme: 'internet-facing',
      Subnets: [publicA, publicB],
      SecurityGroups: [groups.lb],
    })
  ).LoadBalancers![0]!;
  const tg = (
    await elb.createTargetGroup({
      Name: 'demo-http',
      Protocol: 'TCP',
      Port: 80,
      VpcId: vpcId,
      TargetType: 'instance',
      HealthCheckProtocol: 'HTTP',
      HealthCheckPath: '/-/readiness',
      Matcher: { HttpCode: '200' },
    })
  ).TargetGroups![0]!;
  if (options.proxyProtocol) {
    await elb.modifyTargetGroupAttributes({
      TargetGroupArn: tg.TargetGroupArn!,
      Attributes: [{ Key: 'proxy_protocol_v2.enabled', Value: 'true' }],
    });
  }
  await elb.createListener({
    LoadBalancerArn: lb.LoadBalancerArn!,
    Protocol: 'TCP',
    Port: 80,
    DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn! }],
  });

  // Everything the nodes depend on is ready once the database is (the slowest, 15 minutes).
  await aws.clock.sleep(AWS_MINUTES.rdsPostgres.create * MINUTE);
  const db = (await rds.describeDBInstances({ DBInstanceIdentifier: 'demo-db' })).DBInstances![0]!;
  const group0 = (await cache.describeReplicationGroups({ ReplicationGroupId: 'demo-redis' })).ReplicationGroups![0]!;
  const images = await ec2.describeImages({
    Owners: ['782774275127'],
    Filters: [
      { Name: 'name', Values: ['GitLab EE 19.5.1'] },
      { Name: 'architecture', Values: ['x86_64'] },
    ],
  });
  const ubuntu = (await ssm.getParameter({ Name: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id' }))
    .Parameter!.Value!;
  return {
    aws,
    ec2,
    vpcCidr,
    privateSubnetA: privateA,
    groups,
    profile: 'demo-instance-profile',
    dbHost: db.Endpoint!.Address!,
    redisHost: group0.NodeGroups![0]!.PrimaryEndpoint!.Address!,
    targetGroupArn: tg.TargetGroupArn!,
    ubuntuImage: ubuntu,
    gitlabImage: images.Images![0]!.ImageId!,
  };
}

/** The secrets every node fetches, as `fetch_secret` lines: parameter overrides per secret file. */
function fetchLines(overrides: Record<string, string> = {}): string[] {
  return Object.keys(SECRET_VALUES).map(
    (name) => `fetch_secret '${overrides[name] ?? `${PATH}/${name}`}' '/etc/gitlab/gitlab-aws-secrets/${name}'`,
  );
}

const PREAMBLE = (kind: string) => [
  '#!/bin/bash',
  `# gitlab-aws node: ${kind}`,
  'set -euo pipefail',
  'exec > >(tee -a /var/log/gitlab-aws-boot.log | logger -t gitlab-aws -s 2>/dev/console) 2>&1',
  "echo 'gitlab-aws: booting'",
  'install -d -m 0700 /etc/gitlab/gitlab-aws-secrets',
  "cat > /usr/local/sbin/gitlab-aws-ssm-get <<'PY'",
  '#!/usr/bin/python3',
  '# IMDSv2 token, role credentials, SigV4-signed ssm GetParameter (standard library only)',
  'PY',
  'chmod 0700 /usr/local/sbin/gitlab-aws-ssm-get',
  'fetch_secret() { /usr/local/sbin/gitlab-aws-ssm-get "$1" > "$2"; chmod 0600 "$2"; }',
];

const secret = (name: string) => `File.read('/etc/gitlab/gitlab-aws-secrets/${name}').strip`;

export interface GitalyScript {
  fetch?: Record<string, string>;
}

export function gitalyUserData(options: GitalyScript = {}): string {
  return [
    ...PREAMBLE('gitaly'),
    ...fetchLines(options.fetch),
    "cat > /etc/gitlab/gitlab.rb <<'GITLAB_RB'",
    "roles(['gitaly_role'])",
    "gitlab_rails['auto_migrate'] = false",
    "gitlab_rails['internal_api_url'] = 'https://gitlab.example.com'",
    "gitaly['configuration'] = {",
    "  listen_addr: '0.0.0.0:8075',",
    `  auth: { token: ${secret('gitaly-token')} },`,
    "  storage: [ { name: 'default', path: '/var/opt/gitlab/git-data/repositories' } ],",
    '}',
    `gitaly['gitlab_secret'] = ${secret('gitlab-shell-secret')}`,
    'GITLAB_RB',
    'chmod 0600 /etc/gitlab/gitlab.rb',
    'curl -fsSL https://packages.gitlab.com/install/repositories/gitlab/gitlab-ee/script.deb.sh | bash',
    'apt-get install -y gitlab-ee=19.5.1-ee.0',
    'gitlab-ctl reconfigure',
    "echo 'gitlab-aws: gitaly ready'",
    '',
  ].join('\n');
}

export interface RailsScript {
  kind?: 'rails-base' | 'rails-clone';
  dbHost: string;
  redisHost: string;
  gitalyIp: string;
  vpcCidr: string;
  redisSsl?: boolean;
  withoutRedisPassword?: boolean;
  fetch?: Record<string, string>;
  allowlist?: string[];
  proxyProtocol?: boolean;
  /** The base keeps the AMI's first-boot script (no bootcmd removing it, no `rm -f` before the bake). */
  keepFirstBootScript?: boolean;
  /** Checks sshd's settings as a first boot of Ubuntu 24.04 meets them: with or without making /run/sshd first. */
  sshdCheck?: 'with-run-dir' | 'without-run-dir';
}

export function railsUserData(o: RailsScript): string {
  const script = railsScript(o);
  return o.keepFirstBootScript ? script : multipart([['rm', '-f', '/var/lib/cloud/scripts/per-instance/gitlab']], script);
}

function railsScript(o: RailsScript): string {
  const kind = o.kind ?? 'rails-base';
  const base = kind === 'rails-base';
  return [
    ...PREAMBLE(kind),
    ...fetchLines(o.fetch),
    ...(base
      ? [
          'install -d /etc/ssh_static && cp /etc/ssh/ssh_host_* /etc/ssh_static/',
          "printf 'HostKey /etc/ssh_static/ssh_host_%s_key\\n' rsa ecdsa ed25519 >> /etc/ssh/sshd_config",
          ...(o.keepFirstBootScript ? [] : ['rm -f /var/lib/cloud/scripts/per-instance/gitlab']),
        ]
      : []),
    "cat > /etc/gitlab/gitlab.rb <<'GITLAB_RB'",
    "external_url 'https://gitlab.example.com'",
    "letsencrypt['enable'] = false",
    "postgresql['enable'] = false",
    "gitlab_rails['db_adapter'] = 'postgresql'",
    "gitlab_rails['db_database'] = 'gitlabhq_production'",
    "gitlab_rails['db_username'] = 'gitlab'",
    `gitlab_rails['db_password'] = ${secret('database-password')}`,
    `gitlab_rails['db_host'] = '${o.dbHost}'`,
    "gitlab_rails['db_port'] = 5432",
    "redis['enable'] = false",
    `gitlab_rails['redis_host'] = '${o.redisHost}'`,
    "gitlab_rails['redis_port'] = 6379",
    `gitlab_rails['redis_ssl'] = ${o.redisSsl ?? true}`,
    ...(o.withoutRedisPassword ? [] : [`gitlab_rails['redis_password'] = ${secret('redis-auth-token')}`]),
    "gitaly['enable'] = false",
    `gitlab_rails['gitaly_token'] = ${secret('gitaly-token')}`,
    `gitlab_rails['repositories_storages'] = { 'default' => { 'gitaly_address' => 'tcp://${o.gitalyIp}:8075' } }`,
    `gitlab_rails['monitoring_whitelist'] = [${(o.allowlist ?? ['127.0.0.0/8', '::1/128', o.vpcCidr]).map((c) => `'${c}'`).join(', ')}]`,
    "gitlab_rails['nginx']['listen_port'] = 80",
    "gitlab_rails['nginx']['listen_https'] = false",
    ...(o.proxyProtocol ? ["gitlab_rails['nginx']['proxy_protocol'] = true"] : []),
    `gitlab_rails['auto_migrate'] = ${base}`,
    `gitlab_rails['initial_root_password'] = ${secret('root-password')}`,
    'GITLAB_RB',
    'chmod 0600 /etc/gitlab/gitlab.rb',
    ...(o.sshdCheck === 'with-run-dir' ? ['install -d -m 0755 /run/sshd'] : []),
    ...(o.sshdCheck ? ['sshd -t'] : []),
    `wait_for_port '${o.gitalyIp}' 8075`,
    'gitlab-ctl reconfigure',
    ...(base
      ? [
          `sed -i "s/^gitlab_rails\\['auto_migrate'\\] = true$/gitlab_rails['auto_migrate'] = false/" /etc/gitlab/gitlab.rb`,
          "echo 'gitlab-aws: ready for imaging'",
        ]
      : []),
    '',
  ].join('\n');
}

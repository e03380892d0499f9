import type { InstallConfig, SubnetKey } from '../config/schema.js';

/**
 * Every name the guide gives a resource, prefixed by the deployment: with the default deployment
 * `gitlab` they read exactly as in the guide (gitlab-vpc, gitlab-public-10.0.0.0, ...).
 */
export function guideNames(deployment: string) {
  return {
    s3Policy: `${deployment}-gl-s3-policy`,
    instanceRole: `${deployment}-GitLabS3Access`,
    vpc: `${deployment}-vpc`,
    subnet: (kind: 'public' | 'private', cidr: string) => `${deployment}-${kind}-${cidr.split('/')[0]}`,
    internetGateway: `${deployment}-gateway`,
    /** The guide leaves NAT gateways and their addresses unnamed; these follow its a/b zones. */
    natGateway: (zone: 'a' | 'b') => `${deployment}-nat-${zone}`,
    natAddress: (zone: 'a' | 'b') => `${deployment}-nat-${zone}-eip`,
    publicRouteTable: `${deployment}-public`,
    privateRouteTable: (zone: 'a' | 'b') => `${deployment}-private-${zone}`,
    securityGroup: (role: SecurityGroupRole) => `${deployment}-${role}-sec-group`,
    parameterPath: `/gitlab-aws/${deployment}`,
    dbSubnetGroup: `${deployment}-rds-group`,
    dbInstance: `${deployment}-db-ha`,
    /** Guide: "Redis with ElastiCache": gitlab-redis-group and gitlab-redis. */
    cacheSubnetGroup: `${deployment}-redis-group`,
    replicationGroup: `${deployment}-redis`,
    loadBalancer: elbName(`${deployment}-loadbalancer`, `${deployment}-lb`),
    targetGroup: (kind: 'http' | 'ssh') => elbName(`${deployment}-loadbalancer-${kind}-target`, `${deployment}-lb-${kind}`),
    /** The guide's per-host key pairs (bastion-host-a, gitaly, gitlab, ...) collapse into one: the operator's key. */
    keyPair: `${deployment}-key`,
    /** Guide: "Bastion Host A" and "Bastion Host B", each with an Elastic IP. */
    bastion: (zone: 'a' | 'b') => `${deployment}-bastion-host-${zone}`,
    bastionAddress: (zone: 'a' | 'b') => `${deployment}-bastion-host-${zone}-eip`,
    gitaly: `${deployment}-gitaly`,
    /** Guide: the instance named "GitLab" that the custom AMI is made from. */
    baseInstance: `${deployment}-gitlab-source`,
    /** Guide: "GitLab-Source", here with the release and the time it was baked. */
    image: (edition: string, version: string, stamp: string) => `${deployment}-gitlab-source-${edition}-${version}-${stamp}`,
    launchTemplate: `${deployment}-launch-template`,
    /** The GitLab nodes the Auto Scaling group launches from the template (and their volumes). */
    gitlabNode: `${deployment}-gitlab`,
    autoScalingGroup: `${deployment}-auto-scaling-group`,
    /** Guide: "Scale Up Policy" and "Scale Down Policy", each driven by a CPUUtilization alarm. */
    scalingPolicy: (direction: 'up' | 'down') => `${deployment}-scale-${direction}-policy`,
    cpuAlarm: (direction: 'up' | 'down') => `${deployment}-cpu-${direction === 'up' ? 'high' : 'low'}`,
  };
}

/** ELB names stop at 32 characters: the guide's name where it fits, a short form for a long deployment. */
function elbName(guide: string, short: string): string {
  return guide.length <= 32 ? guide : short;
}

/** The guide's security groups, by the role of what they protect (gitlab-<role>-sec-group). */
export const SECURITY_GROUP_ROLES = ['loadbalancer', 'rds', 'redis', 'bastion', 'gitaly'] as const;
export type SecurityGroupRole = (typeof SECURITY_GROUP_ROLES)[number];

/** The guide's two Availability Zones, as its names spell them. */
export const ZONES = ['a', 'b'] as const;

/** The guide's four subnets in its order: public and private in the first AZ, then the second. */
export const SUBNET_LAYOUT: ReadonlyArray<{ key: SubnetKey; kind: 'public' | 'private'; zone: 0 | 1 }> = [
  { key: 'publicA', kind: 'public', zone: 0 },
  { key: 'privateA', kind: 'private', zone: 0 },
  { key: 'publicB', kind: 'public', zone: 1 },
  { key: 'privateB', kind: 'private', zone: 1 },
];

/**
 * GitLab's object types, one bucket each (the consolidated object storage form), and backups.
 * agent_plan_content is 19.1's (gitlab.rb names it from that release on: versions.ts).
 */
export const OBJECT_STORAGE_TYPES = [
  'artifacts',
  'external_diffs',
  'lfs',
  'uploads',
  'packages',
  'dependency_proxy',
  'terraform_state',
  'ci_secure_files',
  'pages',
  'agent_plan_content',
] as const;

/**
 * Bucket names are global: prefix them with the deployment and the account so two deployments
 * (or two accounts) never collide. The IAM policy grants exactly these buckets.
 */
export function bucketNames(config: InstallConfig, accountId: string): Record<BucketType, string> {
  const prefix = config.bucketPrefix ?? `gl-${config.deployment}-${accountId}`;
  return Object.fromEntries(BUCKET_TYPES.map((type) => [type, `${prefix}-${type.replace(/_/g, '-')}`])) as Record<BucketType, string>;
}

export const BUCKET_TYPES = [...OBJECT_STORAGE_TYPES, 'backups'] as const;
export type BucketType = (typeof BUCKET_TYPES)[number];

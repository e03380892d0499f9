import { sideBySide } from '../aws/clock.js';
import type { AwsSession } from '../aws/clients.js';
import { unlessNotFound } from '../aws/errors.js';
import type { InstallConfig } from '../config/schema.js';
import { describeGroup } from '../steps/auto-scaling-group.js';
import { replicationGroupSeen, subnetGroupSeen as cacheSubnetGroupSeen } from '../steps/elasticache.js';
import { byName as keyPairByName } from '../steps/key-pair.js';
import { describeTemplate } from '../steps/launch-template.js';
import { describeByName, elbTags } from '../steps/load-balancer.js';
import { bucketNames, guideNames } from '../steps/names.js';
import { notOurs, type Seen } from '../steps/ownership.js';
import { describeInstance, subnetGroupTags as dbSubnetGroupSeen } from '../steps/rds-postgres.js';
import { bucketSeen } from '../steps/s3-buckets.js';
import { alarmTags } from '../steps/scaling-policies.js';
import type { ToBuild } from './building.js';
import type { Refusal } from './refusal.js';

/** A name AWS keeps unique that a step will create, and how AWS sees it now (the step's own lookup). */
type Tags = ReadonlyArray<{ Key?: string; Value?: string }>;

interface Claim {
  step: string;
  what: string;
  name: string;
  seen: () => Promise<Seen>;
}

/** The names the guide's steps give resources AWS keeps unique, by the step that creates each. */
function claims(aws: AwsSession, config: InstallConfig, account: string): Claim[] {
  const names = guideNames(config.deployment);
  // Found with no tags at all is someone else's; not found is free.
  const tagsOf = (found: { Tags?: Tags } | undefined): Seen => (found ? (found.Tags ?? []) : undefined);
  const iam = (what: string, name: string, read: () => Promise<{ Tags?: Tags } | undefined>): Claim => ({
    step: 'iam-role',
    what,
    name,
    seen: async () => tagsOf(await read()),
  });
  const elb = (what: string, name: string, arnOf: () => Promise<string | undefined>): Claim => ({
    step: 'load-balancer',
    what,
    name,
    seen: async () => {
      const arn = await arnOf();
      return arn ? elbTags(await aws.elbv2(), arn) : undefined;
    },
  });
  return [
    iam('IAM policy', names.s3Policy, async () => {
      const arn = `arn:aws:iam::${account}:policy/${names.s3Policy}`;
      return (await unlessNotFound(async () => (await aws.iam()).getPolicy({ PolicyArn: arn })))?.Policy;
    }),
    iam('IAM role', names.instanceRole, async () => {
      return (await unlessNotFound(async () => (await aws.iam()).getRole({ RoleName: names.instanceRole })))?.Role;
    }),
    iam('IAM instance profile', names.instanceRole, async () => {
      const found = await unlessNotFound(async () => (await aws.iam()).getInstanceProfile({ InstanceProfileName: names.instanceRole }));
      return found?.InstanceProfile;
    }),
    {
      step: 'key-pair',
      what: 'key pair',
      name: names.keyPair,
      seen: async () => tagsOf(await keyPairByName(await aws.ec2(), names.keyPair)),
    },
    {
      step: 'rds-postgres',
      what: 'DB subnet group',
      name: names.dbSubnetGroup,
      seen: async () => dbSubnetGroupSeen(await aws.rds(), names.dbSubnetGroup),
    },
    {
      step: 'rds-postgres',
      what: 'RDS instance',
      name: names.dbInstance,
      seen: async () => {
        const found = await describeInstance(await aws.rds(), names.dbInstance);
        return found ? (found.TagList ?? []) : undefined;
      },
    },
    {
      step: 'elasticache',
      what: 'ElastiCache subnet group',
      name: names.cacheSubnetGroup,
      seen: async () => cacheSubnetGroupSeen(await aws.elasticache(), names.cacheSubnetGroup),
    },
    {
      step: 'elasticache',
      what: 'ElastiCache replication group',
      name: names.replicationGroup,
      seen: async () => replicationGroupSeen(await aws.elasticache(), names.replicationGroup),
    },
    elb('load balancer', names.loadBalancer, async () => {
      const elbv2 = await aws.elbv2();
      return (await describeByName(async () => (await elbv2.describeLoadBalancers({ Names: [names.loadBalancer] })).LoadBalancers))
        ?.LoadBalancerArn;
    }),
    ...(['http', 'ssh'] as const).map((kind) =>
      elb('target group', names.targetGroup(kind), async () => {
        const elbv2 = await aws.elbv2();
        const name = names.targetGroup(kind);
        return (await describeByName(async () => (await elbv2.describeTargetGroups({ Names: [name] })).TargetGroups))?.TargetGroupArn;
      }),
    ),
    {
      step: 'launch-template',
      what: 'launch template',
      name: names.launchTemplate,
      seen: async () => tagsOf(await describeTemplate(await aws.ec2(), names.launchTemplate)),
    },
    {
      step: 'auto-scaling-group',
      what: 'Auto Scaling group',
      name: names.autoScalingGroup,
      seen: async () => tagsOf(await describeGroup(await aws.autoscaling(), names.autoScalingGroup)),
    },
    ...(['up', 'down'] as const).map((direction) => ({
      step: 'scaling-policies',
      what: 'CloudWatch alarm',
      name: names.cpuAlarm(direction),
      seen: async () => alarmTags(await aws.cloudwatch(), names.cpuAlarm(direction)),
    })),
    ...Object.values(bucketNames(config, account)).map((bucket) => ({
      step: 's3-buckets',
      what: 'S3 bucket',
      name: bucket,
      seen: async () => bucketSeen(await aws.s3(), bucket),
    })),
  ];
}

/**
 * No resource holding one of our unique names belongs to someone else: the steps would stop on
 * it halfway through the install (or, for an alarm, overwrite it). "Ours" is the deployment tag,
 * decided as the steps decide it; on a resume, the steps already complete are not asked again.
 */
export async function namesFree(aws: AwsSession, config: InstallConfig, account: string, left: ToBuild): Promise<Refusal | undefined> {
  const asked = claims(aws, config, account).filter((c) => left.anyOf(c.step));
  const seen = await sideBySide(
    aws.clock,
    asked.map((c) => c.seen),
  );
  for (const [i, claim] of asked.entries()) {
    const found = seen[i];
    if (found === undefined) continue;
    if ('foreign' in found) {
      return {
        message: `the ${claim.what} name ${claim.name} is ${found.foreign}`,
        fix: 'choose another --bucket-prefix, or another --deployment',
      };
    }
    const reason = notOurs(found, config.deployment);
    if (reason === undefined) continue;
    return {
      message: `${claim.what} ${claim.name} exists and does not belong to deployment '${config.deployment}' (${reason})`,
      fix:
        claim.step === 's3-buckets'
          ? 'delete it, or choose another --bucket-prefix or --deployment'
          : 'delete or rename it, or choose another --deployment',
    };
  }
  return undefined;
}

import type {
  Address,
  EC2,
  Filter,
  Image,
  InternetGateway,
  LaunchTemplate,
  NatGateway,
  RouteTable,
  SecurityGroup,
  Snapshot,
  Subnet,
  Vpc,
} from '@aws-sdk/client-ec2';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { unlessNotFound } from '../aws/errors.js';
import { paceFor } from '../aws/poll.js';
import { ec2TagFilters, tagValue } from '../aws/tags.js';
import type { ResourceRef, StepContext } from '../engine/step.js';
import type { Seen } from './ownership.js';

/**
 * How long to keep retrying a NotFound for something just created: AWS advises backing off for
 * up to about five minutes while EC2's API catches up.
 */
const EVENTUAL_CONSISTENCY_MS = 5 * MINUTE;

/**
 * Deletes block with DependencyViolation while ENIs of RDS, ElastiCache, the NLB and instances
 * drain; those take minutes, so retry for a realistic window.
 */
export const DEPENDENCY_WINDOW_MS = 20 * MINUTE;

/** Timeout for a resource the table says is ready in `minutes`: generous, never endless (paceFor's). */
export function patience(minutes: number): number {
  return paceFor(minutes).timeoutMs;
}

export const NETWORK_READY_MS = patience(AWS_MINUTES.network.create);

/** Tag filters for this step's resources (and a Name, if given). */
export function ours(ctx: StepContext, name?: string) {
  return ec2TagFilters(ctx.deployment, ctx.stepId, name);
}

/** EC2 TagSpecifications for one resource of this step. */
export function tagSpec(ctx: StepContext, resourceType: string, name: string) {
  return [{ ResourceType: resourceType, Tags: ctx.tags(name) }] as never;
}

/**
 * Runs `action` once `what` has become visible: right after a create, EC2 answers NotFound for a
 * while (its eventual consistency), and AWS's advice is to retry with backoff.
 */
export function whenVisible<T>(ctx: StepContext, what: string, action: () => Promise<T>): Promise<T> {
  return ctx.retry(`${what} to be visible`, ['not-found'], EVENTUAL_CONSISTENCY_MS, action);
}

/**
 * Deletes something once nothing depends on it any more (ENIs of NAT gateways, load balancers and
 * instances drain for minutes); gone already is success.
 */
export async function deleteWhenFree(ctx: StepContext, what: string, remove: () => Promise<unknown>): Promise<void> {
  await ctx.retry(`${what} to be free of dependencies`, ['dependency'], DEPENDENCY_WINDOW_MS, () => unlessNotFound(remove));
}

type Tagged = { Tags?: Array<{ Key?: string; Value?: string }> };

/** One kind of EC2 resource: its CloudFormation type, how to list it by filters, its ID and the filter on it. */
export interface Ec2Kind<T extends Tagged> {
  type: string;
  list(ec2: EC2, filters: Filter[]): Promise<T[] | undefined>;
  id(item: T): string;
  /** The filter selecting one by ID: unlike `...Ids`, an unknown ID finds nothing instead of failing. */
  idFilter: string;
}

const kind = <T extends Tagged>(
  type: string,
  idFilter: string,
  list: Ec2Kind<T>['list'],
  id: (item: T) => string | undefined,
): Ec2Kind<T> => ({ type, idFilter, list, id: (item) => id(item)! });

export const VPC = kind<Vpc>(
  'AWS::EC2::VPC',
  'vpc-id',
  async (ec2, Filters) => (await ec2.describeVpcs({ Filters })).Vpcs,
  (v) => v.VpcId,
);
export const SUBNET = kind<Subnet>(
  'AWS::EC2::Subnet',
  'subnet-id',
  async (ec2, Filters) => (await ec2.describeSubnets({ Filters })).Subnets,
  (s) => s.SubnetId,
);
export const INTERNET_GATEWAY = kind<InternetGateway>(
  'AWS::EC2::InternetGateway',
  'internet-gateway-id',
  async (ec2, Filters) => (await ec2.describeInternetGateways({ Filters })).InternetGateways,
  (g) => g.InternetGatewayId,
);
export const ELASTIC_IP = kind<Address>(
  'AWS::EC2::EIP',
  'allocation-id',
  async (ec2, Filters) => (await ec2.describeAddresses({ Filters })).Addresses,
  (a) => a.AllocationId,
);
export const NAT_GATEWAY = kind<NatGateway>(
  'AWS::EC2::NatGateway',
  'nat-gateway-id',
  // Deleted NAT gateways stay listed for an hour; they are nobody's any more.
  async (ec2, Filter) => (await ec2.describeNatGateways({ Filter })).NatGateways?.filter((n) => n.State !== 'deleted'),
  (n) => n.NatGatewayId,
);
export const ROUTE_TABLE = kind<RouteTable>(
  'AWS::EC2::RouteTable',
  'route-table-id',
  async (ec2, Filters) => (await ec2.describeRouteTables({ Filters })).RouteTables,
  (t) => t.RouteTableId,
);
export const SECURITY_GROUP = kind<SecurityGroup>(
  'AWS::EC2::SecurityGroup',
  'group-id',
  async (ec2, Filters) => (await ec2.describeSecurityGroups({ Filters })).SecurityGroups,
  (g) => g.GroupId,
);

/** The account's own images (AMIs): the bake. Deregistered ones are nobody's any more. */
export const IMAGE = kind<Image>(
  'AWS::EC2::Image',
  'image-id',
  async (ec2, Filters) => (await ec2.describeImages({ Owners: ['self'], Filters })).Images?.filter((i) => i.State !== 'deregistered'),
  (i) => i.ImageId,
);
export const SNAPSHOT = kind<Snapshot>(
  'AWS::EC2::Snapshot',
  'snapshot-id',
  async (ec2, Filters) => (await ec2.describeSnapshots({ OwnerIds: ['self'], Filters })).Snapshots,
  (s) => s.SnapshotId,
);
export const LAUNCH_TEMPLATE = kind<LaunchTemplate>(
  'AWS::EC2::LaunchTemplate',
  'launch-template-id',
  async (ec2, Filters) => {
    // DescribeLaunchTemplates has no ID filter: an ID goes in LaunchTemplateIds, where an unknown
    // one raises NotFound instead of finding nothing.
    const byId = Filters.find((f) => f.Name === 'launch-template-id');
    if (!byId) return (await ec2.describeLaunchTemplates({ Filters })).LaunchTemplates;
    const rest = Filters.filter((f) => f !== byId);
    const found = await unlessNotFound(() =>
      ec2.describeLaunchTemplates({ LaunchTemplateIds: byId.Values, ...(rest.length ? { Filters: rest } : {}) }),
    );
    return found?.LaunchTemplates;
  },
  (t) => t.LaunchTemplateId,
);

/** This step's resources of one kind, by its tags (and a Name, if given), plus any other filters. */
export async function findOurs<T extends Tagged>(ctx: StepContext, kind: Ec2Kind<T>, name?: string, ...filters: Filter[]): Promise<T[]> {
  return (await kind.list(await ctx.aws.ec2(), [...ours(ctx, name), ...filters])) ?? [];
}

/** A resource's tags as EC2 describes them now, for `ownership(ctx).ours`; undefined when it is gone. */
export async function ec2Seen<T extends Tagged>(ctx: StepContext, kind: Ec2Kind<T>, id: string): Promise<Seen> {
  const found = (await kind.list(await ctx.aws.ec2(), [{ Name: kind.idFilter, Values: [id] }]))?.[0];
  return found ? (found.Tags ?? []) : undefined;
}

/** A step's `discover` for EC2: everything of these kinds that carries the step's tags. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function discoverOurs(...kinds: Array<Ec2Kind<any>>) {
  return async (ctx: StepContext): Promise<ResourceRef[]> => {
    const found: ResourceRef[] = [];
    for (const kind of kinds) {
      for (const item of await findOurs(ctx, kind)) {
        found.push({ type: kind.type, id: kind.id(item), name: tagValue(item.Tags, 'Name') ?? kind.id(item) });
      }
    }
    return found;
  };
}

/** Waits until every one of these instances is terminated (or no longer listed at all). */
export async function whenTerminated(ctx: StepContext, instanceIds: readonly string[]): Promise<void> {
  if (!instanceIds.length) return;
  const ec2 = await ctx.aws.ec2();
  await ctx.poll(`instances ${instanceIds.join(', ')} to be terminated`, paceFor(AWS_MINUTES.ec2Instance.delete), async () => {
    const found = (await ec2.describeInstances({ Filters: [{ Name: 'instance-id', Values: [...instanceIds] }] })).Reservations ?? [];
    const left = found.flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== 'terminated');
    return left.length
      ? { done: false, seen: left.map((i) => `${i.InstanceId} ${i.State?.Name}`).join(', ') }
      : { done: true, value: undefined };
  });
}

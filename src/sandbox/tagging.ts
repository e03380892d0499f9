import type { ResourceGroupsTaggingAPI } from '@aws-sdk/client-resource-groups-tagging-api';
import { awsError, pageAfter, pageToken, tagList, type OperationContext, type SandboxService, type SdkOperations } from './core.js';
import type { Ec2Kind } from './ec2.js';
import { rdsTagged } from './rds.js';
import { elasticacheTagged } from './elasticache.js';
import { cloudwatchTagged } from './cloudwatch.js';

/**
 * The Resource Groups Tagging API: one listing of every tagged resource of the account in the
 * call's region, by ARN. It keeps nothing of its own; it reads the other services' slices. What
 * it leaves out, it leaves out as AWS does: IAM (global, not listed by GetResources), network
 * interfaces (AWS's own, untagged) and Auto Scaling groups (tagged through Auto Scaling's own API,
 * which the Tagging API does not index; their instances carry the propagated tags and are listed).
 */
interface Tagged {
  arn: string;
  /** `service:type` as ResourceTypeFilters spell it (`ec2:vpc`, `s3:bucket`, `ssm:parameter`). */
  type: string;
  tags: Record<string, string>;
}

/** EC2's ARN resource types, where they differ from the sandbox's kinds. */
const EC2_ARN_TYPE: Record<Exclude<Ec2Kind, 'network-interface'>, string> = {
  vpc: 'vpc',
  subnet: 'subnet',
  instance: 'instance',
  'internet-gateway': 'internet-gateway',
  'elastic-ip': 'elastic-ip',
  'nat-gateway': 'natgateway',
  'route-table': 'route-table',
  'security-group': 'security-group',
  volume: 'volume',
  'key-pair': 'key-pair',
  image: 'image',
  snapshot: 'snapshot',
  'launch-template': 'launch-template',
};

const MAX_PER_PAGE = 100;

function taggedInRegion(ctx: OperationContext): Tagged[] {
  const { world, region } = ctx;
  const account = world.accountId;
  const found: Tagged[] = [];
  for (const r of Object.values(world.ec2)) {
    if (r.region !== region || r.kind === 'network-interface' || (r.goneAt !== undefined && ctx.now >= r.goneAt)) continue;
    const type = EC2_ARN_TYPE[r.kind];
    // Images and snapshots are named without the account in their ARNs, as AWS names them.
    const owner = r.kind === 'image' || r.kind === 'snapshot' ? '' : account;
    found.push({ arn: `arn:aws:ec2:${region}:${owner}:${type}/${r.id}`, type: `ec2:${type}`, tags: r.tags });
  }
  // A bucket is listed in its own region only, and only to the account that owns it.
  for (const b of Object.values(world.s3.buckets)) {
    if (b.region === region && b.owner === account) found.push({ arn: `arn:aws:s3:::${b.name}`, type: 's3:bucket', tags: b.tags });
  }
  for (const p of Object.values(world.ssm.parameters)) {
    if (p.region !== region) continue;
    const path = p.name.startsWith('/') ? p.name : `/${p.name}`;
    found.push({ arn: `arn:aws:ssm:${region}:${account}:parameter${path}`, type: 'ssm:parameter', tags: p.tags });
  }
  for (const c of Object.values(world.acm.certificates)) {
    if (c.region === region) found.push({ arn: c.arn, type: 'acm:certificate', tags: c.tags });
  }
  // A deleted DB instance is listed until its deletion finished.
  found.push(...rdsTagged(world, region, ctx.now));
  found.push(...elasticacheTagged(ctx));
  found.push(...cloudwatchTagged(ctx));
  for (const items of [world.elbv2.loadBalancers, world.elbv2.targetGroups, world.elbv2.listeners]) {
    for (const r of Object.values(items)) {
      if (r.region !== region) continue;
      const type = r.arn.split(':')[5]!.split('/')[0]!;
      found.push({ arn: r.arn, type: `elasticloadbalancing:${type}`, tags: r.tags });
    }
  }
  // Resources that never had a tag are not in the tagging API's index at all.
  return found.filter((t) => Object.keys(t.tags).length > 0).sort((a, b) => (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0));
}

function invalid(message: string): Error {
  return awsError('InvalidParameterException', message);
}

/** `ec2` matches every EC2 type, `ec2:vpc` only VPCs. */
function typeMatches(filters: string[] | undefined, type: string): boolean {
  if (!filters?.length) return true;
  return filters.some((f) => f === type || f === type.split(':')[0]);
}

type TagFilter = { Key?: string; Values?: string[] };

/** Every filter must hold; a filter's values are alternatives; no values means the key alone. */
function tagsMatch(filters: TagFilter[] | undefined, tags: Record<string, string>): boolean {
  return (filters ?? []).every((f) => f.Key !== undefined && f.Key in tags && (!f.Values?.length || f.Values.includes(tags[f.Key]!)));
}

function afterToken(token: string): string {
  const after = pageAfter(token);
  if (after === undefined) throw awsError('PaginationTokenExpiredException', 'The pagination token is not valid or has expired.');
  return after;
}

const operations: SdkOperations<ResourceGroupsTaggingAPI> = {
  GetResources(ctx, input) {
    if (input.ResourceARNList?.length && (input.TagFilters?.length || input.ResourceTypeFilters?.length)) {
      throw invalid('ResourceARNList cannot be combined with TagFilters or ResourceTypeFilters.');
    }
    const perPage = input.ResourcesPerPage ?? MAX_PER_PAGE;
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PER_PAGE) {
      throw invalid(`ResourcesPerPage must be between 1 and ${MAX_PER_PAGE}.`);
    }
    if ((input.TagFilters?.length ?? 0) > 50) throw invalid('A request can include up to 50 tag filters.');
    const arns = input.ResourceARNList?.length ? new Set(input.ResourceARNList) : undefined;
    const after = input.PaginationToken ? afterToken(input.PaginationToken) : undefined;
    const matching = taggedInRegion(ctx).filter(
      (t) =>
        (!arns || arns.has(t.arn)) &&
        typeMatches(input.ResourceTypeFilters, t.type) &&
        tagsMatch(input.TagFilters, t.tags) &&
        (after === undefined || t.arn > after),
    );
    const page = matching.slice(0, perPage);
    return {
      ResourceTagMappingList: page.map((t) => ({ ResourceARN: t.arn, Tags: tagList(t.tags) })),
      // AWS ends a listing with an empty token rather than none.
      PaginationToken: matching.length > perPage ? pageToken(page[page.length - 1]!.arn) : '',
    };
  },
};

export const taggingService: SandboxService<Record<string, never>, 'tagging'> = {
  name: 'tagging',
  operations,
  latency: {},
  empty: () => ({}),
  // Its resources are the other services': counting them here would count them twice.
  inventory: () => [],
};

import type {
  ChangeTagsForResourceCommandInput,
  ChangeTagsForResourceCommandOutput,
  CreateHostedZoneCommandInput,
  CreateHostedZoneCommandOutput,
  GetHostedZoneCommandInput,
  GetHostedZoneCommandOutput,
  HostedZone,
  ListHostedZonesByNameCommandInput,
  ListHostedZonesByNameCommandOutput,
} from '@aws-sdk/client-route-53';
import { awsError, sandboxResource, tagsFromList, type Answer, type OperationContext, type SandboxService } from './core.js';

/** Route 53's part of the account: hosted zones are global, keyed by their bare ID (Z...). */
export interface Route53World {
  hostedZones: Record<string, Route53HostedZone>;
}

export interface Route53HostedZone {
  id: string;
  /** Fully qualified, with the trailing dot, as Route 53 answers it. */
  name: string;
  callerReference: string;
  comment?: string;
  privateZone: boolean;
  createdAt: number;
  tags: Record<string, string>;
}

const MAX_ITEMS = 100;

function fqdn(name: string): string {
  return name.endsWith('.') ? name.toLowerCase() : `${name.toLowerCase()}.`;
}

/** Route 53 lists zones by name with the labels reversed (com.example.www), then by ID. */
function sortKey(zone: { name: string; id: string }): string {
  return `${zone.name.split('.').reverse().join('.')} ${zone.id}`;
}

function zone(ctx: OperationContext, id: string | undefined): Route53HostedZone {
  const found = id ? ctx.world.route53.hostedZones[id.replace(/^\/hostedzone\//, '')] : undefined;
  if (!found) throw awsError('NoSuchHostedZone', `No hosted zone found with ID: ${id}`, 404);
  return found;
}

function zoneView(ctx: OperationContext, z: Route53HostedZone): HostedZone {
  return {
    Id: `/hostedzone/${z.id}`,
    Name: z.name,
    CallerReference: z.callerReference,
    Config: { PrivateZone: z.privateZone, ...(z.comment ? { Comment: z.comment } : {}) },
    ResourceRecordSetCount: 2, // the zone's own SOA and NS records
  };
}

function nameServers(z: Route53HostedZone) {
  const n = parseInt(z.id.slice(-4), 36) % 2000;
  return {
    NameServers: [`ns-${n}.awsdns-01.org`, `ns-${n + 1}.awsdns-02.co.uk`, `ns-${n + 2}.awsdns-03.com`, `ns-${n + 3}.awsdns-04.net`],
  };
}

const operations = {
  CreateHostedZone(ctx: OperationContext, input: CreateHostedZoneCommandInput): Answer<CreateHostedZoneCommandOutput> {
    if (!input.Name || !input.CallerReference) {
      throw awsError('InvalidInput', 'Name and CallerReference are required', 400);
    }
    const all = Object.values(ctx.world.route53.hostedZones);
    if (all.some((z) => z.callerReference === input.CallerReference)) {
      throw awsError('HostedZoneAlreadyExists', 'A hosted zone has already been created with the specified caller reference.', 409);
    }
    // A new reference for a name that has a zone makes a SECOND zone, as AWS does: callers look first.
    const created: Route53HostedZone = {
      id: `Z${ctx.newId('x', 20).slice(2).toUpperCase()}`,
      name: fqdn(input.Name),
      callerReference: input.CallerReference,
      ...(input.HostedZoneConfig?.Comment ? { comment: input.HostedZoneConfig.Comment } : {}),
      privateZone: Boolean(input.VPC ?? input.HostedZoneConfig?.PrivateZone),
      createdAt: ctx.now,
      tags: {},
    };
    ctx.world.route53.hostedZones[created.id] = created;
    return {
      HostedZone: zoneView(ctx, created),
      ChangeInfo: { Id: `/change/C${created.id.slice(1)}`, Status: 'PENDING', SubmittedAt: new Date(ctx.now) },
      DelegationSet: nameServers(created),
      Location: `https://route53.amazonaws.com/2013-04-01/hostedzone/${created.id}`,
    };
  },

  GetHostedZone(ctx: OperationContext, input: GetHostedZoneCommandInput): Answer<GetHostedZoneCommandOutput> {
    const z = zone(ctx, input.Id);
    return { HostedZone: zoneView(ctx, z), ...(z.privateZone ? {} : { DelegationSet: nameServers(z) }) };
  },

  ListHostedZonesByName(ctx: OperationContext, input: ListHostedZonesByNameCommandInput): Answer<ListHostedZonesByNameCommandOutput> {
    if (input.HostedZoneId && !input.DNSName) {
      throw awsError('InvalidInput', 'The DNSName is required when a HostedZoneId is given', 400);
    }
    const max = Math.min(Number(input.MaxItems ?? MAX_ITEMS) || MAX_ITEMS, MAX_ITEMS);
    const sorted = Object.values(ctx.world.route53.hostedZones).sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    const start = input.DNSName ? sortKey({ name: fqdn(input.DNSName), id: input.HostedZoneId ?? '' }) : '';
    const from = sorted.filter((z) => sortKey(z) >= start);
    const page = from.slice(0, max);
    const next = from[max];
    return {
      HostedZones: page.map((z) => zoneView(ctx, z)),
      ...(input.DNSName ? { DNSName: input.DNSName } : {}),
      ...(input.HostedZoneId ? { HostedZoneId: input.HostedZoneId } : {}),
      IsTruncated: Boolean(next),
      MaxItems: max,
      ...(next ? { NextDNSName: next.name, NextHostedZoneId: next.id } : {}),
    };
  },

  /** Hosted zones take their tags only after creation, through this call. */
  ChangeTagsForResource(ctx: OperationContext, input: ChangeTagsForResourceCommandInput): Answer<ChangeTagsForResourceCommandOutput> {
    if (input.ResourceType !== 'hostedzone') throw awsError('InvalidInput', `The sandbox tags hosted zones only`, 400);
    const z = zone(ctx, input.ResourceId);
    Object.assign(z.tags, tagsFromList(input.AddTags));
    for (const key of input.RemoveTagKeys ?? []) delete z.tags[key];
    return {};
  },
};

export const route53Service: SandboxService<Route53World, 'route53'> = {
  name: 'route53',
  operations,
  // A new zone answers at once; its change (AWS_MINUTES.route53Change) is what takes a minute.
  latency: {},
  empty: () => ({ hostedZones: {} }),
  inventory: (world) =>
    Object.values(world.route53.hostedZones).map((z) => sandboxResource('AWS::Route53::HostedZone', z.id, z.name, z.tags)),
};

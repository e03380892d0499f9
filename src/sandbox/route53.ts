import type {
  ResourceRecordSet,
  Route53,
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
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import {
  awsError,
  sandboxResource,
  tagList,
  tagsFromList,
  type Answer,
  type OperationContext,
  type SandboxService,
  type SdkOperations,
} from './core.js';
import type { World } from './world.js';

/** Route 53's part of the account: hosted zones are global, keyed by their bare ID (Z...). */
export interface Route53World {
  hostedZones: Record<string, Route53HostedZone>;
  /** Submitted change batches by bare ID: PENDING until AWS_MINUTES.route53Change has passed. */
  changes?: Record<string, { submittedAt: number }>;
}

/** A record set other than the zone's own SOA and NS: what ChangeResourceRecordSets manages. */
export interface Route53Record {
  name: string;
  type: string;
  ttl?: number;
  values?: string[];
  alias?: { dnsName: string; hostedZoneId: string; evaluateTargetHealth: boolean };
  createdAt: number;
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
  /** Absent in worlds saved before records existed: none. */
  records?: Route53Record[];
}

const MAX_ITEMS = 100;

/** The record of that name, type (and value) in any public zone of the account (ACM looks here). */
export function findRecord(world: World, name: string, type: string, value?: string): Route53Record | undefined {
  for (const z of Object.values(world.route53.hostedZones)) {
    if (z.privateZone) continue;
    const found = (z.records ?? []).find(
      (r) => r.name === fqdn(name) && r.type === type && (value === undefined || r.values?.includes(value)),
    );
    if (found) return found;
  }
  return undefined;
}

function recordView(r: Route53Record): ResourceRecordSet {
  return {
    Name: r.name,
    Type: r.type as ResourceRecordSet['Type'],
    ...(r.alias
      ? {
          AliasTarget: { DNSName: r.alias.dnsName, HostedZoneId: r.alias.hostedZoneId, EvaluateTargetHealth: r.alias.evaluateTargetHealth },
        }
      : { TTL: r.ttl, ResourceRecords: (r.values ?? []).map((Value) => ({ Value })) }),
  };
}

function recordFrom(set: ResourceRecordSet, now: number): Route53Record {
  if (!set.Name || !set.Type) throw awsError('InvalidInput', 'A record set needs a Name and a Type', 400);
  const alias = set.AliasTarget;
  if (alias && (set.TTL !== undefined || set.ResourceRecords?.length)) {
    throw awsError('InvalidChangeBatch', 'An alias record set takes neither a TTL nor ResourceRecords', 400);
  }
  if (!alias && (set.TTL === undefined || !set.ResourceRecords?.length)) {
    throw awsError('InvalidChangeBatch', `Record set ${set.Name} ${set.Type} needs a TTL and ResourceRecords`, 400);
  }
  return {
    name: fqdn(set.Name),
    type: set.Type,
    ...(alias
      ? {
          alias: {
            dnsName: fqdn(alias.DNSName ?? ''),
            hostedZoneId: alias.HostedZoneId ?? '',
            evaluateTargetHealth: Boolean(alias.EvaluateTargetHealth),
          },
        }
      : { ttl: set.TTL!, values: set.ResourceRecords!.map((r) => r.Value ?? '') }),
    createdAt: now,
  };
}

/** Same name, type and values (or alias target): what a DELETE must name exactly. */
function sameRecord(a: Route53Record, b: Route53Record): boolean {
  return JSON.stringify({ ...a, createdAt: 0 }) === JSON.stringify({ ...b, createdAt: 0 });
}

function zoneOwnRecords(z: Route53HostedZone): ResourceRecordSet[] {
  return [
    { Name: z.name, Type: 'NS', TTL: 172800, ResourceRecords: nameServers(z).NameServers.map((Value) => ({ Value: `${Value}.` })) },
    {
      Name: z.name,
      Type: 'SOA',
      TTL: 900,
      ResourceRecords: [{ Value: `${nameServers(z).NameServers[0]}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400` }],
    },
  ];
}

const changes: SdkOperations<Route53> = {
  ChangeResourceRecordSets(ctx, input) {
    const z = zone(ctx, input.HostedZoneId);
    const records = [...(z.records ?? [])];
    // The whole batch applies or none of it, as Route 53 does.
    for (const change of input.ChangeBatch?.Changes ?? []) {
      const wanted = recordFrom(change.ResourceRecordSet ?? ({} as ResourceRecordSet), ctx.now);
      if (wanted.name !== z.name && !wanted.name.endsWith(`.${z.name}`)) {
        throw awsError('InvalidChangeBatch', `RRSet with DNS name ${wanted.name} is not permitted in zone ${z.name}`, 400);
      }
      const at = records.findIndex((r) => r.name === wanted.name && r.type === wanted.type);
      const label = `${wanted.name.replace(/\.$/, '')}. type='${wanted.type}'`;
      if (change.Action === 'CREATE') {
        if (at >= 0)
          throw awsError('InvalidChangeBatch', `[Tried to create resource record set [name='${label}] but it already exists]`, 400);
        records.push(wanted);
      } else if (change.Action === 'DELETE') {
        if (at < 0 || !sameRecord(records[at]!, wanted)) {
          throw awsError(
            'InvalidChangeBatch',
            `[Tried to delete resource record set [name='${label}] but ${at < 0 ? 'it was not found' : 'the values provided do not match the current values'}]`,
            400,
          );
        }
        records.splice(at, 1);
      } else if (change.Action === 'UPSERT') {
        if (at >= 0) records[at] = sameRecord(records[at]!, wanted) ? records[at]! : wanted;
        else records.push(wanted);
      } else {
        throw awsError('InvalidInput', `Unknown action ${change.Action}`, 400);
      }
    }
    z.records = records;
    const id = `C${ctx.newId('x', 20).slice(2).toUpperCase()}`;
    (ctx.world.route53.changes ??= {})[id] = { submittedAt: ctx.now };
    return { ChangeInfo: { Id: `/change/${id}`, Status: 'PENDING', SubmittedAt: new Date(ctx.now) } };
  },

  GetChange(ctx, input) {
    const id = (input.Id ?? '').replace(/^\/change\//, '');
    const change = ctx.world.route53.changes?.[id];
    if (!change) throw awsError('NoSuchChange', `A change with the specified change ID does not exist.`, 404);
    const synced = ctx.now >= change.submittedAt + AWS_MINUTES.route53Change.create * MINUTE;
    return { ChangeInfo: { Id: `/change/${id}`, Status: synced ? 'INSYNC' : 'PENDING', SubmittedAt: new Date(change.submittedAt) } };
  },

  ListResourceRecordSets(ctx, input) {
    const z = zone(ctx, input.HostedZoneId);
    const all = [...zoneOwnRecords(z), ...(z.records ?? []).map(recordView)].sort((a, b) =>
      `${sortKey({ name: a.Name!, id: '' })} ${a.Type}`.localeCompare(`${sortKey({ name: b.Name!, id: '' })} ${b.Type}`),
    );
    const max = Math.min(Number(input.MaxItems ?? 300) || 300, 300);
    const start = input.StartRecordName ? `${sortKey({ name: fqdn(input.StartRecordName), id: '' })} ${input.StartRecordType ?? ''}` : '';
    const from = all.filter((r) => `${sortKey({ name: r.Name!, id: '' })} ${r.Type}` >= start);
    const next = from[max];
    return {
      ResourceRecordSets: from.slice(0, max),
      IsTruncated: Boolean(next),
      MaxItems: max,
      ...(next ? { NextRecordName: next.Name, NextRecordType: next.Type } : {}),
    };
  },

  DeleteHostedZone(ctx, input) {
    const z = zone(ctx, input.Id);
    if ((z.records ?? []).length) {
      throw awsError(
        'HostedZoneNotEmpty',
        'The specified hosted zone contains non-required resource record sets and so cannot be deleted.',
        400,
      );
    }
    delete ctx.world.route53.hostedZones[z.id];
    return { ChangeInfo: { Id: `/change/C${z.id.slice(1)}`, Status: 'PENDING', SubmittedAt: new Date(ctx.now) } };
  },

  ListTagsForResource(ctx, input) {
    const z = zone(ctx, input.ResourceId);
    return { ResourceTagSet: { ResourceType: 'hostedzone', ResourceId: z.id, Tags: tagList(z.tags) } };
  },
};

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
    ResourceRecordSetCount: 2 + (z.records?.length ?? 0), // the zone's own SOA and NS records, and the rest
  };
}

function nameServers(z: Route53HostedZone) {
  const n = parseInt(z.id.slice(-4), 36) % 2000;
  return {
    NameServers: [`ns-${n}.awsdns-01.org`, `ns-${n + 1}.awsdns-02.co.uk`, `ns-${n + 2}.awsdns-03.com`, `ns-${n + 3}.awsdns-04.net`],
  };
}

const operations = {
  ...changes,
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

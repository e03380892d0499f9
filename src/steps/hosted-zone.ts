import { z } from 'zod';
import type { Route53 } from '@aws-sdk/client-route-53';
import { AWS_MINUTES } from '../aws/durations.js';
import { errorCode, isKind } from '../aws/errors.js';
import { belongsTo } from '../aws/tags.js';
import { requireDomain } from '../config/schema.js';
import { defineStep, type ResourceRef, type StepContext } from '../engine/step.js';
import { HOSTED_ZONE, bareZoneId, fqdn, longestMatchingZone, type FoundZone } from './dns.js';
import { ownership, type Seen } from './ownership.js';

/** The zone we create for a domain: its parent (gitlab.example.com in example.com), or itself when it has two labels. */
export function zoneNameFor(domain: string): string {
  const labels = domain.split('.');
  return fqdn(labels.length > 2 ? labels.slice(1).join('.') : domain);
}

async function zoneTags(route53: Route53, zoneId: string): Promise<Seen> {
  try {
    return (await route53.listTagsForResource({ ResourceType: 'hostedzone', ResourceId: zoneId })).ResourceTagSet?.Tags ?? [];
  } catch (err) {
    if (isKind(err, 'not-found')) return undefined;
    throw err;
  }
}

/** A zone is ours when it carries our tags, or when our token made it and a crash came before the tags. */
async function isOurs(ctx: StepContext, route53: Route53, zone: FoundZone): Promise<boolean> {
  const tags = await zoneTags(route53, zone.zoneId);
  if (Array.isArray(tags) && belongsTo(tags, ctx.deployment)) return true;
  const made = await route53.getHostedZone({ Id: zone.zoneId });
  return made.HostedZone?.CallerReference === ctx.token('hosted-zone');
}

async function nameServers(route53: Route53, zoneId: string): Promise<string[]> {
  return (await route53.getHostedZone({ Id: zoneId })).DelegationSet?.NameServers ?? [];
}

async function createZone(ctx: StepContext, route53: Route53, name: string): Promise<FoundZone> {
  try {
    const made = await route53.createHostedZone({
      Name: name,
      CallerReference: ctx.token('hosted-zone'),
      HostedZoneConfig: { Comment: `gitlab-aws deployment ${ctx.deployment}`, PrivateZone: false },
    });
    return { zoneId: bareZoneId(made.HostedZone!.Id!), zoneName: name };
  } catch (err) {
    // The token made one already (a crash before we recorded it): that zone is ours.
    if (errorCode(err) !== 'HostedZoneAlreadyExists') throw err;
    const page = await route53.listHostedZonesByName({ DNSName: name });
    const mine = page.HostedZones?.find((z) => z.Name === name && z.CallerReference === ctx.token('hosted-zone'));
    if (!mine) throw err;
    return { zoneId: bareZoneId(mine.Id!), zoneName: name };
  }
}

/**
 * Guide: "Configure DNS for Load Balancer": the public hosted zone the domain lives in, the
 * longest that matches; created only when the operator agreed (--create-hosted-zone), and then
 * its name servers are printed, to be set at the registrar.
 */
export const hostedZone = defineStep({
  id: 'hosted-zone',
  title: 'Route 53 hosted zone',
  needs: [],
  minutes: AWS_MINUTES.route53Change.create,
  outputs: z.object({ zoneId: z.string(), zoneName: z.string(), created: z.boolean(), nameServers: z.array(z.string()) }),
  // Found at install time; made only with consent, and then only if none holds the domain (the plan's domain line says so).
  resources: (config) => (config.createHostedZone && config.domain ? [{ type: HOSTED_ZONE, name: zoneNameFor(config.domain) }] : []),

  async create(ctx) {
    const route53 = await ctx.aws.route53();
    const domain = requireDomain(ctx.config);
    const found = await longestMatchingZone(route53, domain);
    if (found && !(await isOurs(ctx, route53, found))) return { ...found, created: false, nameServers: [] };
    if (!found && !ctx.config.createHostedZone) {
      throw new Error(`no public hosted zone holds ${domain}; pass --create-hosted-zone to create ${zoneNameFor(domain)}`);
    }
    const zone = found ?? (await createZone(ctx, route53, zoneNameFor(domain)));
    await ctx.record({ type: HOSTED_ZONE, id: zone.zoneId, name: zone.zoneName });
    await route53.changeTagsForResource({ ResourceType: 'hostedzone', ResourceId: zone.zoneId, AddTags: ctx.tags(zone.zoneName) });
    const servers = await nameServers(route53, zone.zoneId);
    ctx.progress(`created hosted zone ${zone.zoneName}: set its name servers at your registrar: ${servers.join(' ')}`);
    return { ...zone, created: true, nameServers: servers };
  },

  async verify(ctx, outputs) {
    const route53 = await ctx.aws.route53();
    return (await zoneTags(route53, outputs.zoneId)) !== undefined;
  },

  async discover(ctx) {
    const route53 = await ctx.aws.route53();
    if (!ctx.config.domain) return [];
    const found = await longestMatchingZone(route53, ctx.config.domain);
    return found && (await isOurs(ctx, route53, found)) ? [{ type: HOSTED_ZONE, id: found.zoneId, name: found.zoneName }] : [];
  },

  async destroy(ctx, resources) {
    const route53 = await ctx.aws.route53();
    const owner = ownership(ctx);
    const kept: ResourceRef[] = [];
    for (const ref of resources.filter((r) => r.type === HOSTED_ZONE)) {
      if (!(await owner.ours(ref, () => zoneTags(route53, ref.id)))) continue;
      // A zone we created goes only when it holds nothing but its own SOA and NS records.
      const count = (await route53.getHostedZone({ Id: ref.id })).HostedZone?.ResourceRecordSetCount ?? 0;
      if (count > 2) {
        ctx.progress(`keeping hosted zone ${ref.name ?? ref.id}: it holds ${count - 2} record set(s) that are not ours`);
        kept.push(ref);
        continue;
      }
      try {
        await route53.deleteHostedZone({ Id: ref.id });
      } catch (err) {
        if (errorCode(err) === 'HostedZoneNotEmpty') {
          kept.push(ref);
          continue;
        }
        if (!isKind(err, 'not-found')) throw err;
      }
      await ctx.forget(ref);
    }
    return owner.result(kept);
  },
});

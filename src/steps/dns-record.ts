import { z } from 'zod';
import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import { AWS_MINUTES } from '../aws/durations.js';
import { TAG_DEPLOYMENT } from '../aws/tags.js';
import { requireDomain } from '../config/schema.js';
import { defineStep, type ResourceRef, type StepContext } from '../engine/step.js';
import {
  RECORD_SET,
  aliasesLoadBalancer,
  currentRecord,
  deleteRecord,
  fqdn,
  insync,
  longestMatchingZone,
  parseRecordRef,
  recordRef,
} from './dns.js';
import { hostedZone } from './hosted-zone.js';
import { loadBalancer } from './load-balancer.js';
import { ownership } from './ownership.js';

function aliasesOurs(ctx: StepContext, set: ResourceRecordSet): boolean {
  return aliasesLoadBalancer(set, ctx.deployment, ctx.region);
}

/**
 * Guide: "Configure DNS for Load Balancer": an alias A record for the domain pointing at the load
 * balancer (its DNS name and canonical hosted zone), target health not evaluated, as the guide
 * sets it; UPSERT, then wait until Route 53 is INSYNC.
 */
export const dnsRecord = defineStep({
  id: 'dns-record',
  title: 'DNS record for the load balancer',
  needs: [hostedZone, loadBalancer],
  minutes: AWS_MINUTES.route53Change.create,
  outputs: z.object({ domain: z.string(), zoneId: z.string(), target: z.string() }),
  resources: (config) => [{ type: RECORD_SET, name: `${config.domain ?? '<domain>'}. A` }],

  async create(ctx) {
    const route53 = await ctx.aws.route53();
    const domain = requireDomain(ctx.config);
    const { zoneId } = ctx.output('hosted-zone');
    const { dnsName, canonicalHostedZoneId } = ctx.output('load-balancer');
    const ref = recordRef(zoneId, domain, 'A');
    const current = await currentRecord(route53, zoneId, domain, 'A');
    // UPSERT would overwrite someone's record: only ours (or one aliasing our load balancer) is replaced.
    if (current && !aliasesOurs(ctx, current) && !ctx.recorded(RECORD_SET).some((r) => r.id === ref.id)) {
      const points = current.AliasTarget?.DNSName ?? current.ResourceRecords?.map((r) => r.Value).join(', ');
      throw new Error(
        `${domain} already has an A record (${points}) that is not this deployment's; delete it or choose another --domain, then resume`,
      );
    }
    await ctx.record(ref);
    const change = await route53.changeResourceRecordSets({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Comment: `GitLab (gitlab-aws deployment ${ctx.deployment})`,
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: fqdn(domain),
              Type: 'A',
              AliasTarget: { DNSName: fqdn(dnsName), HostedZoneId: canonicalHostedZoneId, EvaluateTargetHealth: false },
            },
          },
        ],
      },
    });
    await insync(ctx, route53, change.ChangeInfo!.Id!, `${domain} -> ${dnsName}`);
    return { domain, zoneId, target: dnsName };
  },

  async verify(ctx, outputs) {
    const current = await currentRecord(await ctx.aws.route53(), outputs.zoneId, outputs.domain, 'A');
    return fqdn(current?.AliasTarget?.DNSName ?? '') === fqdn(outputs.target);
  },

  async discover(ctx) {
    if (!ctx.config.domain) return [];
    const route53 = await ctx.aws.route53();
    const zone = await longestMatchingZone(route53, ctx.config.domain);
    if (!zone) return [];
    const current = await currentRecord(route53, zone.zoneId, ctx.config.domain, 'A');
    return current && aliasesOurs(ctx, current) ? [recordRef(zone.zoneId, ctx.config.domain, 'A')] : [];
  },

  async destroy(ctx, resources) {
    const route53 = await ctx.aws.route53();
    const owner = ownership(ctx);
    for (const ref of resources.filter((r): r is ResourceRef => r.type === RECORD_SET)) {
      const { zoneId, name } = parseRecordRef(ref);
      // Records take no tags: ours is what still aliases our load balancer; anything else is left alone.
      const read = async () => {
        const current = await currentRecord(route53, zoneId, name, 'A');
        if (!current) return undefined;
        return aliasesOurs(ctx, current)
          ? [{ Key: TAG_DEPLOYMENT, Value: ctx.deployment }]
          : { foreign: `it points at ${current.AliasTarget?.DNSName ?? 'another target'}` };
      };
      if (!(await owner.ours(ref, read))) continue;
      await deleteRecord(ctx, route53, ref, (current) => aliasesOurs(ctx, current));
      await ctx.forget(ref);
    }
    return owner.result();
  },
});

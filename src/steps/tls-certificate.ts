import { z } from 'zod';
import type { ACM, CertificateDetail } from '@aws-sdk/client-acm';
import type { Route53 } from '@aws-sdk/client-route-53';
import { AWS_MINUTES } from '../aws/durations.js';
import { isKind } from '../aws/errors.js';
import { TAG_STEP, belongsTo, tagValue } from '../aws/tags.js';
import { requireDomain } from '../config/schema.js';
import { defineStep, type ResourceRef, type StepContext } from '../engine/step.js';
import {
  CERTIFICATE,
  RECORD_SET,
  certificateProblem,
  currentRecord,
  deleteRecord,
  fqdn,
  insync,
  longestMatchingZone,
  parseRecordRef,
  recordRef,
} from './dns.js';
import { patience } from './ec2-common.js';
import { hostedZone } from './hosted-zone.js';
import { ownership, type Seen } from './ownership.js';
import { paceFor } from '../aws/poll.js';

const VALIDATION_TTL = 300;

async function certificateTags(acm: ACM, arn: string): Promise<Seen> {
  try {
    return (await acm.listTagsForCertificate({ CertificateArn: arn })).Tags ?? [];
  } catch (err) {
    if (isKind(err, 'not-found')) return undefined;
    throw err;
  }
}

const EVERY_STATUS = ['PENDING_VALIDATION', 'ISSUED', 'INACTIVE', 'EXPIRED', 'VALIDATION_TIMED_OUT', 'REVOKED', 'FAILED'] as const;

/**
 * Another certificate of the account validated by the same record, if any: ACM gives every
 * certificate for one name in an account the same validation CNAME, so deleting it with ours would
 * break theirs at its next renewal.
 */
async function sharedWith(acm: ACM, recordName: string, gone: ReadonlySet<string>): Promise<string | undefined> {
  let NextToken: string | undefined;
  do {
    const page = await acm.listCertificates({ CertificateStatuses: [...EVERY_STATUS], NextToken });
    for (const summary of page.CertificateSummaryList ?? []) {
      const arn = summary.CertificateArn;
      if (!arn || gone.has(arn)) continue;
      const options = (await describe(acm, arn))?.DomainValidationOptions ?? [];
      if (options.some((o) => o.ResourceRecord?.Name && fqdn(o.ResourceRecord.Name) === fqdn(recordName))) return arn;
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return undefined;
}

async function describe(acm: ACM, arn: string): Promise<CertificateDetail | undefined> {
  try {
    return (await acm.describeCertificate({ CertificateArn: arn })).Certificate;
  } catch (err) {
    if (isKind(err, 'not-found')) return undefined;
    throw err;
  }
}

/** Our certificates in the region: by our tags (ACM lists every certificate; tags are read one by one). */
async function ourCertificates(ctx: StepContext, acm: ACM): Promise<string[]> {
  const found: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await acm.listCertificates({ ...(NextToken ? { NextToken } : {}) });
    for (const summary of page.CertificateSummaryList ?? []) {
      const tags = await certificateTags(acm, summary.CertificateArn!);
      if (Array.isArray(tags) && belongsTo(tags, ctx.deployment) && tagValue(tags, TAG_STEP) === ctx.stepId)
        found.push(summary.CertificateArn!);
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

/** The validation CNAME ACM asks for, once it has made it up (a few seconds after the request). */
async function validationRecord(ctx: StepContext, acm: ACM, arn: string) {
  return ctx.poll(`certificate ${arn} to name its DNS validation record`, paceFor(AWS_MINUTES.acmCertificate.delete), async () => {
    const record = (await describe(acm, arn))?.DomainValidationOptions?.[0]?.ResourceRecord;
    return record?.Name && record.Value
      ? { done: true, value: { name: record.Name, value: record.Value } }
      : { done: false, seen: 'no record yet' };
  });
}

async function writeValidation(ctx: StepContext, route53: Route53, zoneId: string, record: { name: string; value: string }) {
  await ctx.record(recordRef(zoneId, record.name, 'CNAME'));
  const change = await route53.changeResourceRecordSets({
    HostedZoneId: zoneId,
    ChangeBatch: {
      Comment: `ACM DNS validation for gitlab-aws deployment ${ctx.deployment}`,
      Changes: [
        {
          Action: 'UPSERT',
          ResourceRecordSet: { Name: record.name, Type: 'CNAME', TTL: VALIDATION_TTL, ResourceRecords: [{ Value: record.value }] },
        },
      ],
    },
  });
  await insync(ctx, route53, change.ChangeInfo!.Id!, `validation record ${record.name}`);
}

/**
 * Guide: "Load Balancer" asks for a certificate for the domain. An ARN the operator names is used
 * as it is (preflight checked it: ISSUED, this region, covers the domain); otherwise ACM issues
 * one, validated by DNS: its CNAME is written into the hosted zone, then we wait for ISSUED.
 */
export const tlsCertificate = defineStep({
  id: 'tls-certificate',
  title: 'TLS certificate',
  needs: [hostedZone],
  minutes: AWS_MINUTES.acmCertificate.create + AWS_MINUTES.route53Change.create,
  outputs: z.object({ certificateArn: z.string(), requested: z.boolean() }),
  resources: (config) =>
    config.certificateArn
      ? []
      : [
          { type: CERTIFICATE, name: config.domain ?? '<domain>' },
          // ACM names the record when it is asked: `_<hash>.<domain>.`.
          { type: RECORD_SET, name: `_<validation>.${config.domain ?? '<domain>'}. CNAME` },
        ],

  async create(ctx) {
    const acm = await ctx.aws.acm();
    const domain = requireDomain(ctx.config);
    if (ctx.config.certificateArn) {
      const given = await describe(acm, ctx.config.certificateArn);
      const problem = given ? certificateProblem(given, domain) : 'ACM has no such certificate';
      if (problem) throw new Error(`certificate ${ctx.config.certificateArn} cannot serve ${domain}: ${problem}`);
      return { certificateArn: ctx.config.certificateArn, requested: false };
    }
    const route53 = await ctx.aws.route53();
    const { zoneId } = ctx.output('hosted-zone');
    const arn =
      (await ourCertificates(ctx, acm))[0] ??
      (
        await acm.requestCertificate({
          DomainName: domain,
          ValidationMethod: 'DNS',
          IdempotencyToken: ctx.token('certificate'),
          Tags: ctx.tags(domain),
        })
      ).CertificateArn!;
    await ctx.record({ type: CERTIFICATE, id: arn, name: domain });
    const record = await validationRecord(ctx, acm, arn);
    const current = await currentRecord(route53, zoneId, record.name, 'CNAME');
    if (current?.ResourceRecords?.[0]?.Value !== record.value) await writeValidation(ctx, route53, zoneId, record);
    else await ctx.record(recordRef(zoneId, record.name, 'CNAME'));
    await ctx.poll(`certificate for ${domain} to be ISSUED`, paceFor(AWS_MINUTES.acmCertificate.create), async () => {
      const status = (await describe(acm, arn))?.Status;
      if (status === 'FAILED' || status === 'VALIDATION_TIMED_OUT')
        throw new Error(`certificate ${arn} is ${status}; delete it and resume`);
      return status === 'ISSUED' ? { done: true, value: undefined } : { done: false, seen: String(status) };
    });
    return { certificateArn: arn, requested: true };
  },

  async verify(ctx, outputs) {
    return (await describe(await ctx.aws.acm(), outputs.certificateArn))?.Status === 'ISSUED';
  },

  async discover(ctx) {
    if (ctx.config.certificateArn) return [];
    const acm = await ctx.aws.acm();
    return (await ourCertificates(ctx, acm)).map((id): ResourceRef => ({ type: CERTIFICATE, id, name: ctx.config.domain }));
  },

  async destroy(ctx, resources) {
    const acm = await ctx.aws.acm();
    const route53 = await ctx.aws.route53();
    const owner = ownership(ctx);
    const certificates = resources.filter((r) => r.type === CERTIFICATE);
    // Validation records hang off our certificates: found through them, deleted with their exact values.
    const records = [...resources.filter((r) => r.type === RECORD_SET)];
    const zoneId =
      ctx.recorded(RECORD_SET)[0]?.id.split('/')[0] ??
      (ctx.config.domain ? (await longestMatchingZone(route53, ctx.config.domain))?.zoneId : undefined);
    for (const ref of certificates) {
      if (!(await owner.ours(ref, () => certificateTags(acm, ref.id)))) continue;
      const record = (await describe(acm, ref.id))?.DomainValidationOptions?.[0]?.ResourceRecord;
      if (record?.Name && zoneId && !records.some((r) => r.id === recordRef(zoneId, record.Name!, 'CNAME').id)) {
        records.push(recordRef(zoneId, record.Name, 'CNAME'));
      }
      await ctx.retry(
        `certificate ${ref.id} to be free of its load balancer`,
        ['dependency'],
        patience(AWS_MINUTES.networkLoadBalancer.delete),
        async () => {
          try {
            await acm.deleteCertificate({ CertificateArn: ref.id });
          } catch (err) {
            if (!isKind(err, 'not-found')) throw err;
          }
        },
      );
      await ctx.forget(ref);
    }
    const gone = new Set(certificates.map((c) => c.id));
    for (const ref of records) {
      const other = await sharedWith(acm, parseRecordRef(ref).name, gone);
      if (other) {
        ctx.progress(`keeping ${ref.name}: certificate ${other} is validated by it too`);
        await ctx.forget(ref);
        continue;
      }
      // Ours: an ACM validation record (`_x.domain CNAME _y.acm-validations.aws.`) we wrote for the domain.
      const ours = (set: { ResourceRecords?: Array<{ Value?: string }> }) =>
        (set.ResourceRecords ?? []).every((r) => fqdn(r.Value ?? '').endsWith('.acm-validations.aws.'));
      const outcome = await deleteRecord(ctx, route53, ref, ours);
      if (outcome === 'foreign') ctx.progress(`leaving ${ref.name} alone: it is not an ACM validation record`);
      await ctx.forget(ref);
    }
    return owner.result();
  },
});

import type { ACM, CertificateDetail } from '@aws-sdk/client-acm';
import type { ResourceRecordSet, Route53 } from '@aws-sdk/client-route-53';
import { AWS_MINUTES } from '../aws/durations.js';
import { isKind } from '../aws/errors.js';
import type { ResourceRef, StepContext } from '../engine/step.js';
import type { InstallConfig } from '../config/schema.js';
import { guideNames } from './names.js';
import { paceFor } from '../aws/poll.js';

/**
 * Route 53 and ACM habits the edge steps share: names spelt as Route 53 answers them, the
 * longest matching public zone, what a certificate covers, waiting for a change to be INSYNC, and
 * record sets as the state file remembers them (`zone/name/type`: records take no tags).
 */

export const HOSTED_ZONE = 'AWS::Route53::HostedZone';
export const RECORD_SET = 'AWS::Route53::RecordSet';
export const CERTIFICATE = 'AWS::CertificateManager::Certificate';

/** Fully qualified and lowercase, with the trailing dot, as Route 53 answers names. */
export function fqdn(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

export function bareZoneId(id: string): string {
  return id.replace(/^\/hostedzone\//, '');
}

export interface FoundZone {
  zoneId: string;
  zoneName: string;
}

/** The public zone with the longest name that the domain falls in (gitlab.example.com in example.com). */
export async function longestMatchingZone(route53: Route53, domain: string): Promise<FoundZone | undefined> {
  const labels = fqdn(domain).split('.').filter(Boolean);
  for (let i = 0; i < labels.length - 1; i++) {
    const name = `${labels.slice(i).join('.')}.`;
    const page = await route53.listHostedZonesByName({ DNSName: name, MaxItems: 10 });
    const zone = page.HostedZones?.find((z) => z.Name === name && !z.Config?.PrivateZone);
    if (zone) return { zoneId: bareZoneId(zone.Id!), zoneName: name };
  }
  return undefined;
}

/** True when the certificate names the domain itself or a wildcard one label above it. */
export function covers(certificate: Pick<CertificateDetail, 'DomainName' | 'SubjectAlternativeNames'>, domain: string): boolean {
  const wanted = domain.toLowerCase();
  const parent = wanted.split('.').slice(1).join('.');
  const names = [certificate.DomainName, ...(certificate.SubjectAlternativeNames ?? [])].filter(Boolean).map((n) => n!.toLowerCase());
  return names.some((n) => n === wanted || (n.startsWith('*.') && n.slice(2) === parent));
}

/** Why the certificate cannot serve the domain in this region, or undefined when it can. */
export function certificateProblem(certificate: CertificateDetail, domain: string): string | undefined {
  if (certificate.Status !== 'ISSUED') return `it is ${certificate.Status}, not ISSUED`;
  if (!covers(certificate, domain)) {
    const names = [certificate.DomainName, ...(certificate.SubjectAlternativeNames ?? [])].filter((n, i, all) => all.indexOf(n) === i);
    return `it covers ${names.join(', ')}, not ${domain}`;
  }
  return undefined;
}

/**
 * What the domain's answers need of AWS before anything is created: a zone to write in (or the
 * operator's consent to create one) and, when an ARN is given, a certificate that serves the
 * domain. Undefined when all is well; the command turns a refusal into an exit-2 one-liner.
 */
export async function edgeRefusal(
  clients: { route53: () => Promise<Route53>; acm: () => Promise<ACM> },
  config: InstallConfig,
): Promise<{ message: string; fix: string } | undefined> {
  const domain = config.domain;
  if (!domain) return undefined;
  if (!config.createHostedZone && !(await longestMatchingZone(await clients.route53(), domain))) {
    return {
      message: `no public Route 53 hosted zone in this account holds ${domain}`,
      fix: `create one (or delegate the domain to this account), or pass --create-hosted-zone to let gitlab-aws create ${domain.split('.').slice(1).join('.')}; nothing was created`,
    };
  }
  const zone = await longestMatchingZone(await clients.route53(), domain);
  const record = zone && (await currentRecord(await clients.route53(), zone.zoneId, domain, 'A'));
  if (record && !aliasesLoadBalancer(record, config.deployment, config.region)) {
    return {
      message: `${domain} already has an A record (${record.AliasTarget?.DNSName ?? record.ResourceRecords?.map((r) => r.Value).join(', ')}) that is not this deployment's`,
      fix: 'choose another --domain (each deployment answers on a name of its own), or delete that record; nothing was created',
    };
  }
  if (config.certificateArn) {
    const acm = await clients.acm();
    let certificate: CertificateDetail | undefined;
    try {
      certificate = (await acm.describeCertificate({ CertificateArn: config.certificateArn })).Certificate;
    } catch (err) {
      if (!isKind(err, 'not-found')) throw err;
    }
    const problem = certificate ? certificateProblem(certificate, domain) : 'ACM has no such certificate in this account';
    if (problem) {
      return {
        message: `certificate ${config.certificateArn} cannot serve ${domain}: ${problem}`,
        fix: `name an ISSUED certificate for ${domain} or *.${domain.split('.').slice(1).join('.')} in ${config.region}, or leave --certificate-arn out to request one; nothing was created`,
      };
    }
  }
  return undefined;
}

/** An alias to the deployment's load balancer: AWS names an NLB `<name>-<hash>.elb.<region>.amazonaws.com`. */
export function aliasesLoadBalancer(set: ResourceRecordSet, deployment: string, region: string): boolean {
  const target = fqdn(set.AliasTarget?.DNSName ?? '');
  return target.startsWith(`${guideNames(deployment).loadBalancer.toLowerCase()}-`) && target.endsWith(`.elb.${region}.amazonaws.com.`);
}

/** Waits until Route 53 has the change on all its servers. */
export async function insync(ctx: StepContext, route53: Route53, changeId: string, what: string): Promise<void> {
  await ctx.poll(`${what} to be INSYNC`, paceFor(AWS_MINUTES.route53Change.create), async () => {
    const status = (await route53.getChange({ Id: changeId })).ChangeInfo?.Status;
    return status === 'INSYNC' ? { done: true, value: undefined } : { done: false, seen: String(status) };
  });
}

export function recordRef(zoneId: string, name: string, type: string): ResourceRef {
  return { type: RECORD_SET, id: `${zoneId}/${fqdn(name)}/${type}`, name: `${fqdn(name)} ${type}` };
}

export function parseRecordRef(ref: ResourceRef): { zoneId: string; name: string; type: string } {
  const [zoneId, name, type] = ref.id.split('/');
  return { zoneId: zoneId!, name: name!, type: type! };
}

/** The record set of that name and type as Route 53 holds it now; undefined when there is none. */
export async function currentRecord(route53: Route53, zoneId: string, name: string, type: string): Promise<ResourceRecordSet | undefined> {
  try {
    const page = await route53.listResourceRecordSets({
      HostedZoneId: zoneId,
      StartRecordName: fqdn(name),
      StartRecordType: type as ResourceRecordSet['Type'],
      MaxItems: 1,
    });
    const set = page.ResourceRecordSets?.[0];
    return set && fqdn(set.Name ?? '') === fqdn(name) && set.Type === type ? set : undefined;
  } catch (err) {
    if (isKind(err, 'not-found')) return undefined;
    throw err;
  }
}

/**
 * Deletes a record set with its exact current values (Route 53 refuses a DELETE that differs),
 * when `ours` says the current one is ours; a record already gone is success.
 */
export async function deleteRecord(
  ctx: StepContext,
  route53: Route53,
  ref: ResourceRef,
  ours: (current: ResourceRecordSet) => boolean,
): Promise<'deleted' | 'gone' | 'foreign'> {
  const { zoneId, name, type } = parseRecordRef(ref);
  const current = await currentRecord(route53, zoneId, name, type);
  if (!current) return 'gone';
  if (!ours(current)) return 'foreign';
  const change = await route53.changeResourceRecordSets({
    HostedZoneId: zoneId,
    ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: current }] },
  });
  await insync(ctx, route53, change.ChangeInfo!.Id!, `deleting ${name} ${type}`);
  return 'deleted';
}

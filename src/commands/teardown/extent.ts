import type { AwsClients } from '../../aws/clients.js';
import { isKind, unlessNotFound } from '../../aws/errors.js';
import type { StateDoc } from '../../state/schema.js';
import { HOSTED_ZONE, RECORD_SET } from '../../steps/dns.js';
import { GUIDE_STEPS } from '../../steps/index.js';
import { BUCKET, holdsData } from '../../steps/s3-buckets.js';
import { resourceLine, type DiscoveredResource } from '../discovery.js';

/** What a teardown keeps on purpose, and why, said before the operator decides. */
export interface KeptResource {
  type: string;
  id: string;
  name?: string;
  why: string;
  /** What makes the teardown take it too, when something can. */
  unless?: string;
}

/** Before the question: what goes, by the guide's steps, and what stays. */
export interface TeardownExtent {
  deleted: Array<{ step: string; title: string; resources: DiscoveredResource[] }>;
  kept: KeptResource[];
  /** How many resources go in all. */
  count: number;
}

/**
 * The recorded and the tagged resources together (what the engine's teardown will hand each
 * destroy), less what will be kept: buckets that hold data without --delete-data (one
 * ListObjectVersions of one key each, the very test the S3 step's destroy applies) and hosted
 * zones holding records that are not ours. The RDS final snapshot is kept too, when one is taken.
 */
export async function teardownExtent(
  aws: Pick<AwsClients, 's3' | 'route53'>,
  state: StateDoc | undefined,
  discovered: DiscoveredResource[],
  flags: { deleteData: boolean; finalSnapshot?: string | undefined },
): Promise<TeardownExtent> {
  const all = new Map<string, DiscoveredResource>();
  for (const r of [...(state?.resources ?? []), ...discovered]) all.set(`${r.type} ${r.id}`, { type: r.type, id: r.id, step: r.step });
  const resources = [...all.values()];
  const kept: KeptResource[] = [];
  if (flags.finalSnapshot) {
    kept.push({
      type: 'AWS::RDS::DBSnapshot',
      id: flags.finalSnapshot,
      why: 'the RDS final snapshot of the database',
      unless: '--skip-final-snapshot deletes the database without one',
    });
  }
  if (!flags.deleteData) kept.push(...(await bucketsWithData(aws, resources)));
  kept.push(...(await zonesWithOtherRecords(aws, resources)));
  const staying = new Set(kept.map((k) => `${k.type} ${k.id}`));
  const going = resources.filter((r) => !staying.has(`${r.type} ${r.id}`));
  const deleted = GUIDE_STEPS.map((step) => ({
    step: step.id,
    title: step.title,
    resources: going.filter((r) => r.step === step.id),
  })).filter((group) => group.resources.length > 0);
  return { deleted, kept, count: going.length };
}

async function bucketsWithData(aws: Pick<AwsClients, 's3'>, resources: DiscoveredResource[]): Promise<KeptResource[]> {
  const buckets = resources.filter((r) => r.type === BUCKET);
  if (!buckets.length) return [];
  const s3 = await aws.s3();
  const kept: KeptResource[] = [];
  for (const bucket of buckets) {
    // Gone, or another account's (S3 answers AccessDenied): the S3 step's destroy decides those, the
    // same way. Any other error stops the teardown here, before anything is deleted.
    const full = await unlessNotFound(() => holdsData(s3, bucket.id)).catch((err: unknown) => {
      if (isKind(err, 'access-denied')) return false;
      throw err;
    });
    if (full)
      kept.push({ type: BUCKET, id: bucket.id, why: 'it holds data', unless: '--delete-data deletes it with every object version' });
  }
  return kept;
}

async function zonesWithOtherRecords(aws: Pick<AwsClients, 'route53'>, resources: DiscoveredResource[]): Promise<KeptResource[]> {
  const zones = resources.filter((r) => r.type === HOSTED_ZONE);
  if (!zones.length) return [];
  const route53 = await aws.route53();
  const kept: KeptResource[] = [];
  for (const zone of zones) {
    const id = zone.id.replace(/^\/hostedzone\//, '');
    // A zone already gone keeps nothing; any other error stops the teardown before anything is deleted.
    const answer = await unlessNotFound(() => route53.getHostedZone({ Id: id }));
    if (!answer?.HostedZone) continue;
    // Its own SOA and NS, and the records of ours that teardown deletes first, do not count.
    const ours = resources.filter((r) => r.type === RECORD_SET && r.id.startsWith(`${id}/`)).length;
    const others = (answer.HostedZone.ResourceRecordSetCount ?? 0) - 2 - ours;
    if (others > 0)
      kept.push({
        type: HOSTED_ZONE,
        id: zone.id,
        name: answer.HostedZone.Name,
        why: `it holds ${others} record set(s) that are not ours`,
      });
  }
  return kept;
}

/** The extent in words: each step with its count and resources, then what stays and why. */
export function extentText(heading: string, extent: TeardownExtent): string {
  return [
    `${heading}: ${extent.count} resources will be deleted:`,
    ...extent.deleted.flatMap((group) => [
      `  ${group.title} (${group.resources.length})`,
      ...group.resources.map((r) => `  ${resourceLine(r)}`),
    ]),
    ...(extent.kept.length
      ? [
          `Kept (${extent.kept.length}):`,
          ...extent.kept.map((k) => `  ${k.type} ${k.name ?? k.id}: ${k.why}${k.unless ? ` (${k.unless})` : ''}`),
        ]
      : ['Nothing is kept.']),
  ].join('\n');
}

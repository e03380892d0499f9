import { z } from 'zod';
import type { S3 } from '@aws-sdk/client-s3';
import { AWS_MINUTES } from '../aws/durations.js';
import { errorCode, isKind } from '../aws/errors.js';
import { callerIdentity } from '../aws/identity.js';
import { taggedArns } from '../aws/tagging.js';
import { belongsTo } from '../aws/tags.js';
import { badInput } from '../errors.js';
import { defineStep, type ResourceRef, type StepContext } from '../engine/step.js';
import { BUCKET_TYPES, bucketNames } from './names.js';
import { ownership, type Seen } from './ownership.js';

export const BUCKET = 'AWS::S3::Bucket';
const DELETE_BATCH = 1000; // DeleteObjects takes at most 1,000 keys a call

/** A bucket as a teardown sees it before deleting: gone, another account's, or its tags. */
export async function bucketSeen(s3: S3, bucket: string): Promise<Seen> {
  try {
    return (await s3.getBucketTagging({ Bucket: bucket })).TagSet ?? [];
  } catch (err) {
    const code = errorCode(err);
    if (code === 'NoSuchTagSet') return [];
    if (code === 'AccessDenied' || code === 'Forbidden') return { foreign: 'held by another AWS account' };
    if (isKind(err, 'not-found')) return undefined;
    throw err;
  }
}

/** Our tag set on a bucket; undefined when the bucket does not exist or is not readable by us. */
async function bucketTags(s3: S3, bucket: string) {
  const seen = await bucketSeen(s3, bucket);
  return Array.isArray(seen) ? seen : undefined;
}

async function ensureBucket(ctx: StepContext, s3: S3, bucket: string): Promise<void> {
  const tags = await bucketTags(s3, bucket);
  if (tags && !belongsTo(tags, ctx.deployment)) {
    throw new Error(
      `S3 bucket ${bucket} exists in this account but does not belong to deployment '${ctx.deployment}'; choose another --bucket-prefix`,
    );
  }
  if (!tags) {
    try {
      // Tags at creation, so a crash can never leave an untagged (unrecognisable) bucket behind.
      await s3.createBucket({
        Bucket: bucket,
        CreateBucketConfiguration: {
          ...(ctx.region === 'us-east-1' ? {} : { LocationConstraint: ctx.region as never }),
          Tags: ctx.tags(bucket),
        },
      });
    } catch (err) {
      if (errorCode(err) === 'BucketAlreadyExists') {
        throw new Error(`the S3 bucket name ${bucket} is taken by another AWS account; choose another --bucket-prefix`);
      }
      if (errorCode(err) !== 'BucketAlreadyOwnedByYou') throw err;
    }
  }
  await ctx.record({ type: BUCKET, id: bucket, name: bucket });
  await s3.putPublicAccessBlock({
    Bucket: bucket,
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
  });
  await s3.putBucketEncryption({
    Bucket: bucket,
    ServerSideEncryptionConfiguration: {
      Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }],
    },
  });
}

/**
 * Bucket names are global: one of ours found by name from another region means the deployment
 * lives there, and a teardown or status here would see only its buckets. Say where it is.
 */
async function refuseOtherRegion(ctx: StepContext, s3: S3, bucket: string): Promise<void> {
  const { BucketRegion } = await s3.headBucket({ Bucket: bucket });
  if (BucketRegion && BucketRegion !== ctx.region) {
    throw badInput(
      `S3 bucket ${bucket} of deployment '${ctx.deployment}' is in ${BucketRegion}, not ${ctx.region}: the deployment lives there`,
      `pass --region ${BucketRegion}`,
    );
  }
}

/** Every object version and delete marker, a page at a time. */
async function* versions(s3: S3, bucket: string) {
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.listObjectVersions({ Bucket: bucket, KeyMarker, VersionIdMarker });
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
    if (objects.length) yield objects;
    if (!page.IsTruncated) return;
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
}

/** Whether a bucket holds any object version or delete marker (what teardown keeps without --delete-data). */
export async function holdsData(s3: S3, bucket: string): Promise<boolean> {
  const page = await s3.listObjectVersions({ Bucket: bucket, MaxKeys: 1 });
  return Boolean(page.Versions?.length || page.DeleteMarkers?.length);
}

async function emptyBucket(ctx: StepContext, s3: S3, bucket: string): Promise<void> {
  let deleted = 0;
  for await (const page of versions(s3, bucket)) {
    for (let i = 0; i < page.length; i += DELETE_BATCH) {
      const batch = page.slice(i, i + DELETE_BATCH);
      const result = await s3.deleteObjects({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } });
      if (result.Errors?.length)
        throw new Error(`could not delete ${result.Errors.length} objects from ${bucket}: ${result.Errors[0]?.Message}`);
      deleted += batch.length;
      ctx.progress(`deleted ${deleted} object versions from ${bucket}`);
    }
  }
}

/**
 * Guide: "Amazon S3 object storage": one bucket per GitLab object type plus one for backups,
 * private (public access blocked), encrypted by default, tagged as this deployment's.
 */
export const s3Buckets = defineStep({
  id: 's3-buckets',
  title: 'S3 buckets',
  needs: [],
  minutes: 3 * AWS_MINUTES.s3Bucket.create,
  outputs: z.object({ buckets: z.record(z.enum(BUCKET_TYPES), z.string()) }),
  resources: (config, account) => Object.values(bucketNames(config, account)).map((name) => ({ type: BUCKET, name })),

  async create(ctx) {
    const s3 = await ctx.aws.s3();
    const buckets = bucketNames(ctx.config, (await callerIdentity(ctx.aws)).account);
    await ctx.each(Object.values(buckets), (bucket) => ensureBucket(ctx, s3, bucket));
    return { buckets };
  },

  async verify(ctx, outputs) {
    const s3 = await ctx.aws.s3();
    const tags = await ctx.each(BUCKET_TYPES, (type) => bucketTags(s3, outputs.buckets[type]));
    return tags.every((t) => belongsTo(t, ctx.deployment));
  },

  /**
   * The buckets the tagging API lists as this step's in the region (whatever prefix the install
   * used) and the ones the configuration names, each kept only if its own tags say it is ours.
   */
  async discover(ctx) {
    const s3 = await ctx.aws.s3();
    const tagged = new Set(
      (await taggedArns(ctx.aws, ctx.deployment, ctx.stepId, 's3:bucket')).map((arn) => arn.replace(/^arn:[^:]+:s3:::/, '')),
    );
    const named = Object.values(bucketNames(ctx.config, (await callerIdentity(ctx.aws)).account));
    const found: ResourceRef[] = [];
    for (const bucket of new Set([...tagged, ...named])) {
      if (!belongsTo(await bucketTags(s3, bucket), ctx.deployment)) continue;
      if (!tagged.has(bucket)) await refuseOtherRegion(ctx, s3, bucket);
      found.push({ type: BUCKET, id: bucket, name: bucket });
    }
    return found;
  },

  /**
   * Empty buckets go; buckets holding data stay unless the operator asked for --delete-data. A
   * bucket is looked at, emptied or deleted only once its tags say it is ours.
   */
  async destroy(ctx, resources) {
    const s3 = await ctx.aws.s3();
    const owner = ownership(ctx);
    const retained: ResourceRef[] = [];
    await ctx.each(
      resources.filter((r) => r.type === BUCKET),
      async (ref) => {
        if (!(await owner.ours(ref, () => bucketSeen(s3, ref.id)))) return;
        try {
          if (await holdsData(s3, ref.id)) {
            if (!ctx.teardown.deleteData) {
              ctx.progress(`keeping ${ref.id}: it holds data (teardown --delete-data removes it)`);
              retained.push(ref);
              return;
            }
            await emptyBucket(ctx, s3, ref.id);
          }
          await s3.deleteBucket({ Bucket: ref.id });
        } catch (err) {
          if (!isKind(err, 'not-found')) throw err;
        }
        await ctx.forget(ref);
      },
    );
    return owner.result(retained);
  },
});

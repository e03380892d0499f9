import { Readable } from 'node:stream';
import type { S3 } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createAwsSession } from '../src/aws/clients.js';
import { classify, errorCode } from '../src/aws/errors.js';
import type { S3Bucket, S3ObjectVersion } from '../src/sandbox/s3.js';
import { emptyWorld, saveWorld, worldFile, type World } from '../src/sandbox/world.js';
import { sandboxFixtures } from './sandbox-fixtures.js';

const REGION = 'us-west-2';
const FOREIGN_ACCOUNT = '999988887777';

const { stateDir, keep, closed } = sandboxFixtures('gitlab-aws-s3-ssm-');

/** A session answered by the sandbox; `seed` writes a world first (what another account holds). */
async function session(options: { dir?: string; region?: string; seed?: (world: World) => void } = {}) {
  const dir = options.dir ?? (await stateDir());
  if (options.seed) {
    const world = emptyWorld(Date.now());
    options.seed(world);
    await saveWorld(worldFile(dir), JSON.stringify(world));
  }
  const s = await createAwsSession({ region: options.region ?? REGION, sandbox: { stateDir: dir } });
  keep(s);
  return { session: s, dir };
}

type AwsLikeError = Error & { Code?: string; $metadata?: { httpStatusCode?: number } };

async function rejection(promise: Promise<unknown>): Promise<AwsLikeError> {
  try {
    await promise;
  } catch (err) {
    return err as AwsLikeError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

function bucketRecord(name: string, owner: string, region = REGION): S3Bucket {
  return {
    name,
    region,
    owner,
    createdAt: 0,
    tags: {},
    encryption: { SSEAlgorithm: 'AES256', BucketKeyEnabled: false },
    objects: {},
  };
}

async function allVersions(s3: S3, bucket: string, maxKeys?: number) {
  const versions: Array<{ Key: string; VersionId: string; marker: boolean; IsLatest: boolean }> = [];
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await s3.listObjectVersions({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionMarker, MaxKeys: maxKeys });
    pages++;
    for (const v of page.Versions ?? []) versions.push({ Key: v.Key!, VersionId: v.VersionId!, marker: false, IsLatest: v.IsLatest! });
    for (const m of page.DeleteMarkers ?? []) versions.push({ Key: m.Key!, VersionId: m.VersionId!, marker: true, IsLatest: m.IsLatest! });
    if (!page.IsTruncated) return { versions, pages };
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
}

describe('sandbox S3 behind the real SDK client', () => {
  it('creates a bucket in its region, refuses a foreign LocationConstraint and bad names', async () => {
    const { session: s } = await session();
    const s3 = await s.s3();

    // The SDK itself fills in LocationConstraint from the client's region when none is given.
    const created = await s3.createBucket({ Bucket: 'gl-gitlab-artifacts' });
    await s3.createBucket({ Bucket: 'gl-gitlab-lfs', CreateBucketConfiguration: { LocationConstraint: REGION } });
    const wrong = await rejection(
      s3.createBucket({ Bucket: 'gl-gitlab-uploads', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }),
    );

    expect(created.Location).toContain('gl-gitlab-artifacts');
    expect(created.BucketArn).toBe('arn:aws:s3:::gl-gitlab-artifacts');
    // Both answer in their region: a bucket in another region would answer PermanentRedirect.
    await s3.getPublicAccessBlock({ Bucket: 'gl-gitlab-artifacts' });
    await s3.getPublicAccessBlock({ Bucket: 'gl-gitlab-lfs' });
    expect(errorCode(wrong)).toBe('IllegalLocationConstraintException');
    expect(errorCode(await rejection(s3.getPublicAccessBlock({ Bucket: 'gl-gitlab-uploads' })))).toBe('NoSuchBucket');
    for (const bad of ['ab', 'Has-Upper', '192.168.1.10', 'ends-with-hyphen-', 'two..dots', 'x'.repeat(64)]) {
      expect(errorCode(await rejection(s3.createBucket({ Bucket: bad }))), bad).toBe('InvalidBucketName');
    }
  });

  it('tells a bucket we own from one another account owns, and keeps foreign buckets out of reach', async () => {
    const { session: s } = await session({
      seed: (w) => {
        w.s3.buckets['taken-by-someone'] = bucketRecord('taken-by-someone', FOREIGN_ACCOUNT);
      },
    });
    const s3 = await s.s3();
    await s3.createBucket({ Bucket: 'gl-gitlab-backups' });

    const own = await rejection(s3.createBucket({ Bucket: 'gl-gitlab-backups' }));
    const foreign = await rejection(s3.createBucket({ Bucket: 'taken-by-someone' }));

    expect(errorCode(own)).toBe('BucketAlreadyOwnedByYou');
    expect(own.$metadata?.httpStatusCode).toBe(409);
    expect(classify(own)).toBe('already-exists');
    expect(errorCode(foreign)).toBe('BucketAlreadyExists');
    expect(foreign.$metadata?.httpStatusCode).toBe(409);

    const tagging = await rejection(s3.getBucketTagging({ Bucket: 'taken-by-someone' }));
    expect(tagging.$metadata?.httpStatusCode).toBe(403);
    expect(classify(tagging)).toBe('access-denied');
    expect(errorCode(await rejection(s3.deleteBucket({ Bucket: 'taken-by-someone' })))).toBe('AccessDenied');

    const missingTagging = await rejection(s3.getBucketTagging({ Bucket: 'no-such-bucket-here' }));
    expect(errorCode(missingTagging)).toBe('NoSuchBucket');
    expect(classify(missingTagging)).toBe('not-found');
    const missingDelete = await rejection(s3.deleteBucket({ Bucket: 'no-such-bucket-here' }));
    expect(errorCode(missingDelete)).toBe('NoSuchBucket');
    expect(missingDelete.$metadata?.httpStatusCode).toBe(404);
  });

  it('names are global: another region sees our bucket and is redirected to address it in its own region', async () => {
    const { session: west, dir } = await session();
    await (await west.s3()).createBucket({ Bucket: 'gl-gitlab-pages' });
    await west.close();
    closed(west);

    const { session: east } = await session({ dir, region: 'us-east-1' });
    const s3 = await east.s3();
    expect(errorCode(await rejection(s3.createBucket({ Bucket: 'gl-gitlab-pages' })))).toBe('BucketAlreadyOwnedByYou');
    // The sandbox answers 301 PermanentRedirect naming the bucket's region; the S3 client follows it there.
    expect((await s3.headBucket({ Bucket: 'gl-gitlab-pages' })).BucketRegion).toBe('us-west-2');
    await s3.deleteBucket({ Bucket: 'gl-gitlab-pages' });
    expect(errorCode(await rejection(s3.headBucket({ Bucket: 'gl-gitlab-pages' })))).toBe('NoSuchBucket');
    // us-east-1's legacy: creating your own bucket there again answers 200.
    await s3.createBucket({ Bucket: 'gl-gitlab-east' });
    expect((await s3.createBucket({ Bucket: 'gl-gitlab-east' })).Location).toBe('/gl-gitlab-east');
  });

  it("gives new buckets AWS's defaults and reads explicit settings back", async () => {
    const { session: s } = await session({
      seed: (w) => {
        w.s3.buckets['gl-gitlab-legacy'] = bucketRecord('gl-gitlab-legacy', w.accountId);
      },
    });
    const s3 = await s.s3();
    await s3.createBucket({ Bucket: 'gl-gitlab-lfs' });

    expect((await s3.getPublicAccessBlock({ Bucket: 'gl-gitlab-lfs' })).PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    expect(
      (await s3.getBucketEncryption({ Bucket: 'gl-gitlab-lfs' })).ServerSideEncryptionConfiguration?.Rules?.[0]
        ?.ApplyServerSideEncryptionByDefault,
    ).toEqual({
      SSEAlgorithm: 'AES256',
    });

    await s3.putBucketEncryption({
      Bucket: 'gl-gitlab-lfs',
      ServerSideEncryptionConfiguration: {
        Rules: [
          { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/gitlab' }, BucketKeyEnabled: true },
        ],
      },
    });
    await s3.putPublicAccessBlock({
      Bucket: 'gl-gitlab-lfs',
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: false,
        RestrictPublicBuckets: false,
      },
    });

    expect((await s3.getBucketEncryption({ Bucket: 'gl-gitlab-lfs' })).ServerSideEncryptionConfiguration?.Rules).toEqual([
      { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/gitlab' }, BucketKeyEnabled: true },
    ]);
    expect((await s3.getPublicAccessBlock({ Bucket: 'gl-gitlab-lfs' })).PublicAccessBlockConfiguration?.BlockPublicPolicy).toBe(false);

    // A bucket without a public access block (older than AWS's defaults) says so.
    const gone = await rejection(s3.getPublicAccessBlock({ Bucket: 'gl-gitlab-legacy' }));
    expect(errorCode(gone)).toBe('NoSuchPublicAccessBlockConfiguration');
    expect(classify(gone)).toBe('not-found');
  });

  it('keeps the tag set given at creation, answers NoSuchTagSet without one, and refuses reserved keys', async () => {
    const { session: s } = await session();
    const s3 = await s.s3();
    await s3.createBucket({
      Bucket: 'gl-gitlab-packages',
      CreateBucketConfiguration: {
        LocationConstraint: REGION,
        Tags: [
          { Key: 'gitlab-aws:deployment', Value: 'gitlab' },
          { Key: 'Name', Value: 'packages' },
        ],
      },
    });
    await s3.createBucket({ Bucket: 'gl-gitlab-untagged' });

    expect((await s3.getBucketTagging({ Bucket: 'gl-gitlab-packages' })).TagSet).toEqual([
      { Key: 'gitlab-aws:deployment', Value: 'gitlab' },
      { Key: 'Name', Value: 'packages' },
    ]);
    expect(errorCode(await rejection(s3.getBucketTagging({ Bucket: 'gl-gitlab-untagged' })))).toBe('NoSuchTagSet');
    const reserved = s3.createBucket({
      Bucket: 'gl-gitlab-reserved',
      CreateBucketConfiguration: { LocationConstraint: REGION, Tags: [{ Key: 'aws:x', Value: 'y' }] },
    });
    expect(errorCode(await rejection(reserved))).toBe('InvalidTag');
    expect(errorCode(await rejection(s3.getBucketTagging({ Bucket: 'gl-gitlab-reserved' })))).toBe('NoSuchBucket');
  });

  it('keeps every version and delete marker of a versioned bucket, and lists them in pages', async () => {
    // Nothing the install does turns versioning on: an operator did, so a seed stages it.
    const { session: s } = await session({
      seed: (w) => {
        const b = bucketRecord('gl-gitlab-uploads', w.accountId);
        b.objects['before-versioning.txt'] = [{ versionId: 'null', deleteMarker: false, size: 2, etag: '"v0"', lastModified: 0 }];
        b.versioning = 'Enabled';
        w.s3.buckets['gl-gitlab-uploads'] = b;
      },
    });
    const s3 = await s.s3();
    const first = await s3.putObject({ Bucket: 'gl-gitlab-uploads', Key: 'a.txt', Body: 'one' });
    const second = await s3.putObject({ Bucket: 'gl-gitlab-uploads', Key: 'a.txt', Body: new TextEncoder().encode('two!') });
    const marker = (await s3.deleteObjects({ Bucket: 'gl-gitlab-uploads', Delete: { Objects: [{ Key: 'a.txt' }] } })).Deleted![0]!;
    await s3.putObject({ Bucket: 'gl-gitlab-uploads', Key: 'b.txt', Body: 'bee' });

    expect(first.VersionId).toBeTruthy();
    expect(second.VersionId).not.toBe(first.VersionId);
    expect(marker.DeleteMarker).toBe(true);
    const streamed = Readable.from([Buffer.from('12345')]);
    await s3.putObject({ Bucket: 'gl-gitlab-uploads', Key: 'c.bin', Body: streamed, ContentLength: 5 });

    const { versions, pages } = await allVersions(s3, 'gl-gitlab-uploads', 2);
    expect(pages).toBe(3);
    expect(versions).toHaveLength(6);
    expect(versions.find((v) => v.marker)).toMatchObject({ Key: 'a.txt', VersionId: marker.DeleteMarkerVersionId, IsLatest: true });
    // a.txt is deleted as far as its latest version goes, but its versions remain.
    expect(versions.filter((v) => v.IsLatest && !v.marker).map((v) => v.Key)).toEqual(['b.txt', 'before-versioning.txt', 'c.bin']);
    expect(
      versions
        .filter((v) => v.Key === 'a.txt' && !v.marker)
        .map((v) => v.VersionId)
        .sort(),
    ).toEqual([first.VersionId, second.VersionId].sort());
    expect(versions.find((v) => v.Key === 'before-versioning.txt')?.VersionId).toBe('null');
    const sizes = (await s3.listObjectVersions({ Bucket: 'gl-gitlab-uploads', Prefix: 'a.txt' })).Versions?.map((v) => v.Size);
    expect(sizes).toEqual([4, 3]); // newest first; the Uint8Array body counted in bytes
    const streamedSize = (await s3.listObjectVersions({ Bucket: 'gl-gitlab-uploads', Prefix: 'c.bin' })).Versions?.map((v) => v.Size);
    expect(streamedSize).toEqual([5]);

    const notEmpty = await rejection(s3.deleteBucket({ Bucket: 'gl-gitlab-uploads' }));
    expect(errorCode(notEmpty)).toBe('BucketNotEmpty');
    expect(notEmpty.$metadata?.httpStatusCode).toBe(409);

    // Deleting the current objects only adds markers: still not empty.
    await s3.deleteObjects({
      Bucket: 'gl-gitlab-uploads',
      Delete: { Objects: [{ Key: 'b.txt' }, { Key: 'before-versioning.txt' }, { Key: 'c.bin' }] },
    });
    const after = (await allVersions(s3, 'gl-gitlab-uploads')).versions;
    expect(after.filter((v) => v.IsLatest).every((v) => v.marker)).toBe(true);
    expect(errorCode(await rejection(s3.deleteBucket({ Bucket: 'gl-gitlab-uploads' })))).toBe('BucketNotEmpty');

    expect(after).toHaveLength(9);
    // Teardown's way: delete each page, then ask for the next one after the (now deleted) markers.
    let deleted = 0;
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const page = await s3.listObjectVersions({
        Bucket: 'gl-gitlab-uploads',
        MaxKeys: 4,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
      });
      const entries = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])];
      if (entries.length) {
        const result = await s3.deleteObjects({
          Bucket: 'gl-gitlab-uploads',
          Delete: { Objects: entries.map((v) => ({ Key: v.Key!, VersionId: v.VersionId! })) },
        });
        expect(result.Errors ?? []).toEqual([]);
        deleted += result.Deleted?.length ?? 0;
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
    expect(deleted).toBe(9);
    await s3.deleteBucket({ Bucket: 'gl-gitlab-uploads' });
    expect(errorCode(await rejection(s3.getBucketTagging({ Bucket: 'gl-gitlab-uploads' })))).toBe('NoSuchBucket');
  });

  it('empties a bucket of 2500 versions and markers in DeleteObjects pages of 1000, refusing 1001 keys', async () => {
    const BUCKET = 'gl-gitlab-artifacts';
    const { session: s } = await session({
      seed: (w) => {
        const b = bucketRecord(BUCKET, w.accountId);
        b.versioning = 'Enabled';
        for (let i = 0; i < 1000; i++) {
          const versions: S3ObjectVersion[] = [
            { versionId: `v${i}a`, deleteMarker: false, size: 1, etag: '"x"', lastModified: 0 },
            { versionId: `v${i}b`, deleteMarker: false, size: 2, etag: '"y"', lastModified: 1 },
          ];
          if (i % 2 === 0) versions.push({ versionId: `v${i}m`, deleteMarker: true, size: 0, etag: '', lastModified: 2 });
          b.objects[`job/${String(i).padStart(4, '0')}.log`] = versions;
        }
        w.s3.buckets[BUCKET] = b;
      },
    });
    const s3 = await s.s3();

    const tooMany = await rejection(
      s3.deleteObjects({
        Bucket: BUCKET,
        Delete: { Objects: Array.from({ length: 1001 }, (_, i) => ({ Key: `job/${String(i).padStart(4, '0')}.log` })) },
      }),
    );
    expect(errorCode(tooMany)).toBe('MalformedXML');
    const untouched = await s3.listObjectVersions({ Bucket: BUCKET, MaxKeys: 3 });
    expect(untouched.DeleteMarkers?.map((m) => m.Key)).toEqual(['job/0000.log']); // nothing was deleted

    let pages = 0;
    for (;;) {
      const page = await s3.listObjectVersions({ Bucket: BUCKET });
      const entries = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])];
      if (!entries.length) break;
      expect(entries.length).toBeLessThanOrEqual(1000);
      expect(errorCode(await rejection(s3.deleteBucket({ Bucket: BUCKET })))).toBe('BucketNotEmpty');
      const out = await s3.deleteObjects({
        Bucket: BUCKET,
        Delete: { Objects: entries.map((e) => ({ Key: e.Key!, VersionId: e.VersionId! })), Quiet: true },
      });
      expect(out.Errors ?? []).toEqual([]);
      pages++;
    }
    expect(pages).toBe(3);
    await s3.deleteBucket({ Bucket: BUCKET });
    expect(errorCode(await rejection(s3.getBucketTagging({ Bucket: BUCKET })))).toBe('NoSuchBucket');
  });
});

describe('sandbox SSM Parameter Store behind the real SDK client', () => {
  it('puts, gets and overwrites a parameter, counting versions', async () => {
    const { session: s } = await session();
    const ssm = await s.ssm();

    const put = await ssm.putParameter({ Name: '/gitlab-aws/gitlab/db-host', Value: 'db.internal', Type: 'String' });
    const again = await rejection(ssm.putParameter({ Name: '/gitlab-aws/gitlab/db-host', Value: 'other', Type: 'String' }));
    const overwrite = await ssm.putParameter({ Name: '/gitlab-aws/gitlab/db-host', Value: 'db2.internal', Overwrite: true });
    const got = (await ssm.getParameter({ Name: '/gitlab-aws/gitlab/db-host' })).Parameter;

    expect(put).toMatchObject({ Version: 1, Tier: 'Standard' });
    expect(errorCode(again)).toBe('ParameterAlreadyExists');
    expect(classify(again)).toBe('already-exists');
    expect(overwrite.Version).toBe(2);
    expect(got).toMatchObject({
      Name: '/gitlab-aws/gitlab/db-host',
      Type: 'String',
      Value: 'db2.internal',
      Version: 2,
      DataType: 'text',
      ARN: 'arn:aws:ssm:us-west-2:123456789012:parameter/gitlab-aws/gitlab/db-host',
    });
    expect(got?.LastModifiedDate).toBeInstanceOf(Date);

    const missing = await rejection(ssm.getParameter({ Name: '/gitlab-aws/gitlab/nope' }));
    expect(errorCode(missing)).toBe('ParameterNotFound');
    expect(classify(missing)).toBe('not-found');
    expect(errorCode(await rejection(ssm.putParameter({ Name: '/gitlab-aws/gitlab/untyped', Value: 'x' })))).toBe('ValidationException');
  });

  it('never returns a SecureString as plaintext without WithDecryption', async () => {
    const { session: s } = await session();
    const ssm = await s.ssm();
    const secret = 'root-password-Zx9!';
    await ssm.putParameter({ Name: '/gitlab-aws/gitlab/root-password', Value: secret, Type: 'SecureString' });

    const reads = [
      (await ssm.getParameter({ Name: '/gitlab-aws/gitlab/root-password' })).Parameter?.Value,
      (await ssm.getParameters({ Names: ['/gitlab-aws/gitlab/root-password'] })).Parameters?.[0]?.Value,
      (await ssm.getParametersByPath({ Path: '/gitlab-aws/gitlab' })).Parameters?.[0]?.Value,
    ];
    for (const value of reads) {
      expect(value).toBeTruthy();
      expect(value).not.toContain(secret);
      expect(Buffer.from(value!, 'base64').toString('latin1')).not.toContain(secret);
    }
    expect((await ssm.getParameter({ Name: '/gitlab-aws/gitlab/root-password', WithDecryption: true })).Parameter?.Value).toBe(secret);
    const described = (await ssm.describeParameters({})).Parameters?.[0];
    expect(described).toMatchObject({ Name: '/gitlab-aws/gitlab/root-password', Type: 'SecureString', KeyId: 'alias/aws/ssm', Version: 1 });
    expect(described).not.toHaveProperty('Value');
  });

  it('pages GetParametersByPath ten at a time, and recurses only when asked', async () => {
    const { session: s } = await session();
    const ssm = await s.ssm();
    for (let i = 0; i < 13; i++) await ssm.putParameter({ Name: `/app/p${String(i).padStart(2, '0')}`, Value: `v${i}`, Type: 'String' });
    await ssm.putParameter({ Name: '/app/sub/child', Value: 'c', Type: 'String' });
    await ssm.putParameter({ Name: '/app/sub/deep/grandchild', Value: 'g', Type: 'String' });
    await ssm.putParameter({ Name: '/apple', Value: 'not under /app', Type: 'String' });

    async function byPath(recursive: boolean, maxResults?: number) {
      const names: string[] = [];
      const sizes: number[] = [];
      let token: string | undefined;
      do {
        const page = await ssm.getParametersByPath({ Path: '/app', Recursive: recursive, MaxResults: maxResults, NextToken: token });
        sizes.push(page.Parameters?.length ?? 0);
        names.push(...(page.Parameters ?? []).map((p) => p.Name!));
        token = page.NextToken;
      } while (token);
      return { names, sizes };
    }

    const oneLevel = await byPath(false);
    expect(oneLevel.sizes).toEqual([10, 3]);
    expect(oneLevel.names).toHaveLength(13);
    expect(oneLevel.names.every((n) => /^\/app\/p\d\d$/.test(n))).toBe(true);

    const recursive = await byPath(true, 4);
    expect(recursive.sizes).toEqual([4, 4, 4, 3]);
    expect(recursive.names).toContain('/app/sub/child');
    expect(recursive.names).toContain('/app/sub/deep/grandchild');
    expect(recursive.names).not.toContain('/apple');
    expect(new Set(recursive.names).size).toBe(15);

    expect(errorCode(await rejection(ssm.getParametersByPath({ Path: '/app', MaxResults: 11 })))).toBe('ValidationException');

    const described = await ssm.describeParameters({ ParameterFilters: [{ Key: 'Path', Option: 'OneLevel', Values: ['/app/sub'] }] });
    expect(described.Parameters?.map((p) => p.Name)).toEqual(['/app/sub/child']);
    const begins = await ssm.describeParameters({ ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: ['/app/sub'] }] });
    expect(begins.Parameters?.map((p) => p.Name)).toEqual(['/app/sub/child', '/app/sub/deep/grandchild']);
  });

  it('refuses Overwrite with Tags, values over 4 KB on the Standard tier, and reserved or malformed names', async () => {
    const { session: s } = await session();
    const ssm = await s.ssm();

    const tagged = await rejection(
      ssm.putParameter({ Name: '/gitlab-aws/gitlab/x', Value: 'x', Type: 'String', Overwrite: true, Tags: [{ Key: 'a', Value: 'b' }] }),
    );
    expect(errorCode(tagged)).toBe('ValidationException');
    expect(errorCode(await rejection(ssm.getParameter({ Name: '/gitlab-aws/gitlab/x' })))).toBe('ParameterNotFound');

    await ssm.putParameter({ Name: '/gitlab-aws/gitlab/max', Value: 'a'.repeat(4096), Type: 'String' });
    expect(errorCode(await rejection(ssm.putParameter({ Name: '/gitlab-aws/gitlab/big', Value: 'a'.repeat(4097), Type: 'String' })))).toBe(
      'ValidationException',
    );
    expect(
      (await ssm.putParameter({ Name: '/gitlab-aws/gitlab/big', Value: 'a'.repeat(4097), Type: 'String', Tier: 'Advanced' })).Tier,
    ).toBe('Advanced');

    const deepest = `/${Array.from({ length: 15 }, (_, i) => `l${i}`).join('/')}`;
    await ssm.putParameter({ Name: deepest, Value: 'ok', Type: 'String' });
    const bad = [
      'awsConfig',
      'SSM-param',
      '/aws/x',
      '/Ssm/x',
      'no/leading/slash',
      '/double//slash',
      '/has space',
      `${deepest}/l15`,
      `/${'n'.repeat(1011)}`,
    ];
    for (const name of bad) {
      expect(errorCode(await rejection(ssm.putParameter({ Name: name, Value: 'v', Type: 'String' }))), name).toBe('ValidationException');
    }
    await ssm.putParameter({ Name: 'plain.name_1-2', Value: 'v', Type: 'StringList' });
    expect((await ssm.getParameter({ Name: 'plain.name_1-2' })).Parameter?.ARN).toBe(
      'arn:aws:ssm:us-west-2:123456789012:parameter/plain.name_1-2',
    );
  });

  it('deletes parameters one at a time and ten at a time, and tags them', async () => {
    const { session: s } = await session();
    const ssm = await s.ssm();
    await ssm.putParameter({ Name: '/d/a', Value: '1', Type: 'String', Tags: [{ Key: 'gitlab-aws:deployment', Value: 'gitlab' }] });
    await ssm.putParameter({ Name: '/d/b', Value: '2', Type: 'String' });
    await ssm.putParameter({ Name: '/d/c', Value: '3', Type: 'String' });

    expect((await ssm.listTagsForResource({ ResourceType: 'Parameter', ResourceId: '/d/a' })).TagList).toEqual([
      { Key: 'gitlab-aws:deployment', Value: 'gitlab' },
    ]);
    await ssm.addTagsToResource({ ResourceType: 'Parameter', ResourceId: '/d/a', Tags: [{ Key: 'step', Value: 'secrets' }] });
    await ssm.removeTagsFromResource({ ResourceType: 'Parameter', ResourceId: '/d/a', TagKeys: ['gitlab-aws:deployment'] });
    expect((await ssm.listTagsForResource({ ResourceType: 'Parameter', ResourceId: '/d/a' })).TagList).toEqual([
      { Key: 'step', Value: 'secrets' },
    ]);
    expect(errorCode(await rejection(ssm.listTagsForResource({ ResourceType: 'Parameter', ResourceId: '/d/none' })))).toBe(
      'InvalidResourceId',
    );

    const eleven = Array.from({ length: 11 }, (_, i) => `/d/n${i}`);
    expect(errorCode(await rejection(ssm.deleteParameters({ Names: eleven })))).toBe('ValidationException');

    const result = await ssm.deleteParameters({ Names: ['/d/a', '/d/b', '/d/missing'] });
    expect(result.DeletedParameters?.sort()).toEqual(['/d/a', '/d/b']);
    expect(result.InvalidParameters).toEqual(['/d/missing']);

    await ssm.deleteParameter({ Name: '/d/c' });
    expect(errorCode(await rejection(ssm.deleteParameter({ Name: '/d/c' })))).toBe('ParameterNotFound');
    expect((await ssm.describeParameters({})).Parameters).toEqual([]);
  });

  it('keeps parameters per region', async () => {
    const { session: west, dir } = await session();
    await (await west.ssm()).putParameter({ Name: '/gitlab-aws/gitlab/region', Value: 'west', Type: 'String' });
    await west.close();
    closed(west);

    const { session: east } = await session({ dir, region: 'us-east-1' });
    const ssm = await east.ssm();
    expect(errorCode(await rejection(ssm.getParameter({ Name: '/gitlab-aws/gitlab/region' })))).toBe('ParameterNotFound');
    expect((await ssm.putParameter({ Name: '/gitlab-aws/gitlab/region', Value: 'east', Type: 'String' })).Version).toBe(1);
  });
});

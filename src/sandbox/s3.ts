import { createHash } from 'node:crypto';
import type {
  CreateBucketCommandInput,
  CreateBucketCommandOutput,
  DeleteBucketCommandInput,
  DeleteBucketCommandOutput,
  DeleteObjectsCommandInput,
  DeleteObjectsCommandOutput,
  GetBucketEncryptionCommandInput,
  GetBucketEncryptionCommandOutput,
  GetBucketTaggingCommandInput,
  GetBucketTaggingCommandOutput,
  GetPublicAccessBlockCommandInput,
  GetPublicAccessBlockCommandOutput,
  HeadBucketCommandInput,
  HeadBucketCommandOutput,
  ListObjectVersionsCommandInput,
  ListObjectVersionsCommandOutput,
  PutBucketEncryptionCommandInput,
  PutBucketEncryptionCommandOutput,
  PutObjectCommandInput,
  PutObjectCommandOutput,
  PutPublicAccessBlockCommandInput,
  PutPublicAccessBlockCommandOutput,
  ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { AWS_MINUTES } from '../aws/durations.js';
import { awsError, sandboxResource, tagList, type OperationContext, type SandboxService, type Answer, type Latency } from './core.js';

/** S3 as the sandbox keeps it: bucket names are global across regions and accounts. */
export interface S3World {
  buckets: Record<string, S3Bucket>;
}

export interface S3PublicAccessBlock {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}

export interface S3EncryptionRule {
  SSEAlgorithm: ServerSideEncryption;
  KMSMasterKeyID?: string;
  BucketKeyEnabled: boolean;
}

/** One version of a key: an object or a delete marker. */
export interface S3ObjectVersion {
  versionId: string;
  deleteMarker: boolean;
  size: number;
  etag: string;
  lastModified: number;
  /** The body as text, kept only when small (the sandbox never serves large objects). */
  body?: string;
}

export interface S3Bucket {
  name: string;
  region: string;
  /** The owning account: a bucket of another account holds the name but answers AccessDenied. */
  owner: string;
  createdAt: number;
  tags: Record<string, string>;
  /** Absent only where a seed left it out (a bucket made before AWS's 2023 defaults). */
  publicAccessBlock?: S3PublicAccessBlock;
  encryption: S3EncryptionRule;
  /** Absent until versioning is configured (a seed can stage a versioned bucket); never absent again. */
  versioning?: 'Enabled' | 'Suspended';
  /** Key -> its versions, oldest first (the last one is the latest). */
  objects: Record<string, S3ObjectVersion[]>;
}

const KEEP_BODY_CHARS = 16 * 1024;
const MAX_KEYS = 1000;

function canonicalUserId(account: string): string {
  return createHash('sha256').update(`canonical:${account}`).digest('hex');
}

function checkBucketName(name: unknown): string {
  const bad = (why: string) => awsError('InvalidBucketName', `The specified bucket is not valid. (${why})`);
  if (typeof name !== 'string' || name.length < 3 || name.length > 63) throw bad('bucket names must be 3 to 63 characters long');
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) {
    throw bad('use lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit');
  }
  if (/\.\.|\.-|-\./.test(name)) throw bad('no two adjacent dots, and no dot next to a hyphen');
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) throw bad('bucket names must not be formatted as an IP address');
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name) || /(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) {
    throw bad('the name uses a reserved prefix or suffix');
  }
  return name;
}

function tagsFromTagSet(list: Array<{ Key?: string; Value?: string }> | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const tag of list ?? []) {
    const key = tag.Key ?? '';
    const value = tag.Value ?? '';
    if (key.length < 1 || key.length > 128) throw awsError('InvalidTag', 'The TagKey you have provided is invalid');
    if (value.length > 256) throw awsError('InvalidTag', 'The TagValue you have provided is invalid');
    if (key.toLowerCase().startsWith('aws:')) throw awsError('InvalidTag', 'System tags cannot be added/updated by requester');
    if (key in tags) throw awsError('InvalidTag', 'Cannot provide multiple Tags with the same key');
    tags[key] = value;
  }
  if (Object.keys(tags).length > 50) throw awsError('BadRequest', 'Bucket tag count cannot be greater than 50');
  return tags;
}

/** The bucket an operation addresses, as the calling account sees it from the call's region. */
function bucket(ctx: OperationContext, name: unknown): S3Bucket {
  const found = typeof name === 'string' ? ctx.world.s3.buckets[name] : undefined;
  if (!found) throw awsError('NoSuchBucket', 'The specified bucket does not exist', 404);
  if (found.owner !== ctx.world.accountId) throw awsError('AccessDenied', 'Access Denied', 403);
  if (found.region !== ctx.region) {
    const err = awsError(
      'PermanentRedirect',
      `The bucket you are attempting to access must be addressed using the specified endpoint (bucket region ${found.region}).`,
      301,
    );
    // AWS names the bucket's region in a header; the SDK's followRegionRedirects reads it there.
    throw Object.assign(err, { $response: { statusCode: 301, headers: { 'x-amz-bucket-region': found.region } } });
  }
  return found;
}

/** What the sandbox can tell about a body without consuming it (a stream is left unread). */
function bodyOf(body: unknown, contentLength: unknown): { size: number; text?: string; hash: string } {
  let bytes: Uint8Array | undefined;
  if (typeof body === 'string') bytes = new TextEncoder().encode(body);
  else if (body instanceof Uint8Array) bytes = body;
  else if (body === undefined || body === null) bytes = new Uint8Array();
  if (!bytes) {
    // A stream (or Blob) is not read here: operations answer synchronously. A Node stream is
    // drained and discarded, as sending it would, so a file behind it gets closed.
    const stream = body as { resume?: unknown; pipe?: unknown };
    if (typeof stream.resume === 'function' && typeof stream.pipe === 'function') (stream.resume as () => void).call(stream);
    const size = typeof contentLength === 'number' ? contentLength : 0;
    return { size, hash: createHash('md5').update(`stream:${size}`).digest('hex') };
  }
  const text = bytes.length <= KEEP_BODY_CHARS ? new TextDecoder().decode(bytes) : undefined;
  return { size: bytes.length, text, hash: createHash('md5').update(bytes).digest('hex') };
}

function newVersionId(ctx: OperationContext): string {
  return ctx.newId('v', 32).slice(2);
}

function latest(versions: S3ObjectVersion[] | undefined): S3ObjectVersion | undefined {
  return versions?.[versions.length - 1];
}

/** Adds a version (object or marker) as versioning dictates: unversioned and suspended buckets reuse 'null'. */
function addVersion(ctx: OperationContext, b: S3Bucket, key: string, version: Omit<S3ObjectVersion, 'versionId'>): S3ObjectVersion {
  const versions = (b.objects[key] ??= []);
  let versionId = 'null';
  if (b.versioning === 'Enabled') versionId = newVersionId(ctx);
  else {
    const index = versions.findIndex((v) => v.versionId === 'null');
    if (index >= 0) versions.splice(index, 1);
  }
  const entry = { versionId, ...version };
  versions.push(entry);
  return entry;
}

/** DeleteObject's semantics, shared with DeleteObjects. */
function deleteObject(ctx: OperationContext, b: S3Bucket, key: string, versionId: string | undefined) {
  if (versionId !== undefined) {
    const versions = b.objects[key];
    const index = versions ? versions.findIndex((v) => v.versionId === versionId) : -1;
    if (index < 0) return { VersionId: versionId };
    const [removed] = versions!.splice(index, 1);
    if (!versions!.length) delete b.objects[key];
    return removed!.deleteMarker ? { VersionId: versionId, DeleteMarker: true } : { VersionId: versionId };
  }
  if (!b.versioning) {
    delete b.objects[key];
    return {};
  }
  const marker = addVersion(ctx, b, key, { deleteMarker: true, size: 0, etag: '', lastModified: ctx.now });
  return { DeleteMarker: true, VersionId: marker.versionId };
}

function sortedKeys(b: S3Bucket): string[] {
  // S3 lists keys in UTF-8 binary order; for the sandbox's keys code-unit order is the same.
  return Object.keys(b.objects).sort((a, c) => (a < c ? -1 : a > c ? 1 : 0));
}

function maxKeys(value: unknown): number {
  if (value === undefined || value === null) return MAX_KEYS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw awsError('InvalidArgument', 'Provided max-keys not an integer or within integer range');
  }
  return Math.min(value, MAX_KEYS);
}

function bucketArn(name: string) {
  return `arn:aws:s3:::${name}`;
}

const s3 = {
  CreateBucket(ctx: OperationContext, input: CreateBucketCommandInput): Answer<CreateBucketCommandOutput> {
    const name = checkBucketName(input.Bucket);
    const constraint = input.CreateBucketConfiguration?.LocationConstraint;
    if (ctx.region === 'us-east-1') {
      if ((constraint as string | undefined) === 'us-east-1')
        throw awsError('InvalidLocationConstraint', 'The specified location-constraint is not valid');
      if (constraint) {
        throw awsError(
          'IllegalLocationConstraintException',
          `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
        );
      }
    } else if (constraint !== ctx.region) {
      throw awsError(
        'IllegalLocationConstraintException',
        constraint
          ? `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`
          : 'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.',
      );
    }
    const location = ctx.region === 'us-east-1' ? `/${name}` : `http://${name}.s3.amazonaws.com/`;
    const existing = ctx.world.s3.buckets[name];
    if (existing) {
      if (existing.owner !== ctx.world.accountId) {
        throw awsError(
          'BucketAlreadyExists',
          'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
          409,
        );
      }
      // us-east-1's legacy: re-creating your own bucket there answers 200 and changes nothing.
      if (existing.region === 'us-east-1' && ctx.region === 'us-east-1') return { Location: location, BucketArn: bucketArn(name) };
      throw awsError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', 409);
    }
    ctx.world.s3.buckets[name] = {
      name,
      region: ctx.region,
      owner: ctx.world.accountId,
      createdAt: ctx.now,
      tags: tagsFromTagSet(input.CreateBucketConfiguration?.Tags),
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      encryption: { SSEAlgorithm: 'AES256', BucketKeyEnabled: false },
      objects: {},
    };
    return { Location: location, BucketArn: bucketArn(name) };
  },

  DeleteBucket(ctx: OperationContext, input: DeleteBucketCommandInput): Answer<DeleteBucketCommandOutput> {
    const b = bucket(ctx, input.Bucket);
    if (Object.keys(b.objects).length) {
      throw awsError('BucketNotEmpty', 'The bucket you tried to delete is not empty. You must delete all versions in the bucket.', 409);
    }
    delete ctx.world.s3.buckets[b.name];
    return {};
  },

  PutPublicAccessBlock(ctx: OperationContext, input: PutPublicAccessBlockCommandInput): Answer<PutPublicAccessBlockCommandOutput> {
    const b = bucket(ctx, input.Bucket);
    const c = input.PublicAccessBlockConfiguration;
    if (!c) throw awsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    b.publicAccessBlock = {
      BlockPublicAcls: c.BlockPublicAcls ?? false,
      IgnorePublicAcls: c.IgnorePublicAcls ?? false,
      BlockPublicPolicy: c.BlockPublicPolicy ?? false,
      RestrictPublicBuckets: c.RestrictPublicBuckets ?? false,
    };
    return {};
  },

  GetPublicAccessBlock(ctx: OperationContext, input: GetPublicAccessBlockCommandInput): Answer<GetPublicAccessBlockCommandOutput> {
    const b = bucket(ctx, input.Bucket);
    if (!b.publicAccessBlock) {
      throw awsError('NoSuchPublicAccessBlockConfiguration', 'The public access block configuration was not found', 404);
    }
    return { PublicAccessBlockConfiguration: { ...b.publicAccessBlock } };
  },

  PutBucketEncryption(ctx: OperationContext, input: PutBucketEncryptionCommandInput): Answer<PutBucketEncryptionCommandOutput> {
    const b = bucket(ctx, input.Bucket);
    const rules = input.ServerSideEncryptionConfiguration?.Rules ?? [];
    if (rules.length !== 1) {
      throw awsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    }
    const rule = rules[0]!;
    const algorithm = rule.ApplyServerSideEncryptionByDefault?.SSEAlgorithm;
    const keyId = rule.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID;
    if (!algorithm || !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(algorithm)) {
      throw awsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    }
    if (keyId && algorithm === 'AES256') {
      throw awsError('InvalidArgument', 'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse');
    }
    b.encryption = {
      SSEAlgorithm: algorithm,
      ...(keyId ? { KMSMasterKeyID: keyId } : {}),
      BucketKeyEnabled: rule.BucketKeyEnabled ?? false,
    };
    return {};
  },

  GetBucketEncryption(ctx: OperationContext, input: GetBucketEncryptionCommandInput): Answer<GetBucketEncryptionCommandOutput> {
    const { SSEAlgorithm, KMSMasterKeyID, BucketKeyEnabled } = bucket(ctx, input.Bucket).encryption;
    return {
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm, ...(KMSMasterKeyID ? { KMSMasterKeyID } : {}) }, BucketKeyEnabled }],
      },
    };
  },

  /** From another region it answers 301 like every bucket call; the SDK follows it there. */
  HeadBucket(ctx: OperationContext, input: HeadBucketCommandInput): Answer<HeadBucketCommandOutput> {
    return { BucketRegion: bucket(ctx, input.Bucket).region, AccessPointAlias: false };
  },

  GetBucketTagging(ctx: OperationContext, input: GetBucketTaggingCommandInput): Answer<GetBucketTaggingCommandOutput> {
    const b = bucket(ctx, input.Bucket);
    if (!Object.keys(b.tags).length) throw awsError('NoSuchTagSet', 'The TagSet does not exist', 404);
    return { TagSet: tagList(b.tags) };
  },

  PutObject(ctx: OperationContext, input: PutObjectCommandInput): Answer<PutObjectCommandOutput> {
    const b = bucket(ctx, input.Bucket);
    if (!input.Key) throw awsError('InvalidArgument', 'An object key must be given');
    if (input.Key.length > 1024) throw awsError('KeyTooLongError', 'Your key is too long');
    const body = bodyOf(input.Body, input.ContentLength);
    const version = addVersion(ctx, b, input.Key, {
      deleteMarker: false,
      size: body.size,
      etag: `"${body.hash}"`,
      lastModified: ctx.now,
      ...(body.text !== undefined ? { body: body.text } : {}),
    });
    return {
      ETag: version.etag,
      ServerSideEncryption: b.encryption.SSEAlgorithm,
      ...(b.versioning ? { VersionId: version.versionId } : {}),
    };
  },

  DeleteObjects(ctx: OperationContext, input: DeleteObjectsCommandInput): Answer<DeleteObjectsCommandOutput> {
    const b = bucket(ctx, input.Bucket);
    const objects = input.Delete?.Objects ?? [];
    if (objects.length < 1 || objects.length > MAX_KEYS) {
      throw awsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    }
    const deleted: Array<Record<string, unknown>> = [];
    const errors: Array<Record<string, unknown>> = [];
    for (const o of objects) {
      if (!o.Key) {
        errors.push({ Key: o.Key ?? '', Code: 'InvalidArgument', Message: 'An object key must be given' });
        continue;
      }
      const result = deleteObject(ctx, b, o.Key, o.VersionId);
      if (o.VersionId !== undefined)
        deleted.push({
          Key: o.Key,
          VersionId: o.VersionId,
          ...(result.DeleteMarker ? { DeleteMarker: true, DeleteMarkerVersionId: o.VersionId } : {}),
        });
      else if (result.DeleteMarker) deleted.push({ Key: o.Key, DeleteMarker: true, DeleteMarkerVersionId: result.VersionId });
      else deleted.push({ Key: o.Key });
    }
    return { ...(input.Delete?.Quiet ? {} : { Deleted: deleted }), Errors: errors };
  },

  ListObjectVersions(ctx: OperationContext, input: ListObjectVersionsCommandInput): Answer<ListObjectVersionsCommandOutput> {
    const b = bucket(ctx, input.Bucket);
    const limit = maxKeys(input.MaxKeys);
    if (input.VersionIdMarker && !input.KeyMarker) {
      throw awsError('InvalidArgument', 'A version-id marker cannot be specified without a key marker.');
    }
    const prefix = input.Prefix ?? '';
    const entries: Array<{ key: string; version: S3ObjectVersion; isLatest: boolean }> = [];
    for (const key of sortedKeys(b)) {
      if (!key.startsWith(prefix)) continue;
      if (input.KeyMarker !== undefined && key < input.KeyMarker) continue;
      const versions = [...b.objects[key]!].reverse(); // newest first, as S3 lists them
      let start = 0;
      if (input.KeyMarker !== undefined && key === input.KeyMarker) {
        if (!input.VersionIdMarker) continue;
        // A marker version deleted since (a teardown deletes each page before asking for the
        // next) leaves no position: list the key's remaining versions again rather than skip any.
        const at = versions.findIndex((v) => v.versionId === input.VersionIdMarker);
        start = at + 1;
      }
      versions.slice(start).forEach((version) => entries.push({ key, version, isLatest: version === latest(b.objects[key]) }));
      if (entries.length > limit) break;
    }
    const page = entries.slice(0, limit);
    const truncated = entries.length > limit;
    const last = page[page.length - 1];
    return {
      Name: b.name,
      Prefix: prefix,
      MaxKeys: limit,
      IsTruncated: truncated,
      ...(input.KeyMarker !== undefined ? { KeyMarker: input.KeyMarker } : {}),
      ...(input.VersionIdMarker !== undefined ? { VersionIdMarker: input.VersionIdMarker } : {}),
      ...(truncated && last ? { NextKeyMarker: last.key, NextVersionIdMarker: last.version.versionId } : {}),
      Versions: page
        .filter((e) => !e.version.deleteMarker)
        .map((e) => ({
          Key: e.key,
          VersionId: e.version.versionId,
          IsLatest: e.isLatest,
          LastModified: new Date(e.version.lastModified),
          ETag: e.version.etag,
          Size: e.version.size,
          StorageClass: 'STANDARD',
          Owner: { ID: canonicalUserId(b.owner) },
        })),
      DeleteMarkers: page
        .filter((e) => e.version.deleteMarker)
        .map((e) => ({
          Key: e.key,
          VersionId: e.version.versionId,
          IsLatest: e.isLatest,
          LastModified: new Date(e.version.lastModified),
          Owner: { ID: canonicalUserId(b.owner) },
        })),
    };
  },
};

const { create, delete: remove } = AWS_MINUTES.s3Bucket;

/** Minutes each call takes on the sandbox clock (object calls take only the round trip). */
const latency: Latency<'s3'> = {
  CreateBucket: create,
  DeleteBucket: remove,
  PutPublicAccessBlock: create,
  PutBucketEncryption: create,
};

export const s3Service: SandboxService<S3World, 's3'> = {
  name: 's3',
  operations: s3,
  latency,
  empty: () => ({ buckets: {} }),
  inventory: (world) =>
    // Buckets of other accounts only hold their names here; they are not this account's resources.
    Object.values(world.s3.buckets)
      .filter((b) => b.owner === world.accountId)
      .map((b) => sandboxResource('AWS::S3::Bucket', b.name, b.name, b.tags)),
};

import { createHash } from 'node:crypto';
import { AWS_MINUTES } from '../aws/durations.js';
import { awsError, sandboxResource, tagList, type OperationContext, type SandboxService, type ServiceOperations } from './core.js';

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
  SSEAlgorithm: string;
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
  /** Absent after DeletePublicAccessBlock. */
  publicAccessBlock?: S3PublicAccessBlock;
  encryption: S3EncryptionRule;
  /** Absent after DeleteBucketOwnershipControls. */
  objectOwnership?: string;
  /** Absent until versioning is first configured; it can never return to absent. */
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

/** Operations that AWS answers from any regional endpoint; every other one wants the bucket's own. */
const ANY_REGION = new Set(['GetBucketLocation']);

/** The bucket an operation addresses, as the calling account sees it. */
function bucket(ctx: OperationContext, name: unknown, operation: string): S3Bucket {
  const found = typeof name === 'string' ? ctx.world.s3.buckets[name] : undefined;
  if (!found) throw awsError('NoSuchBucket', 'The specified bucket does not exist', 404);
  if (found.owner !== ctx.world.accountId) throw awsError('AccessDenied', 'Access Denied', 403);
  if (found.region !== ctx.region && !ANY_REGION.has(operation)) {
    throw awsError(
      'PermanentRedirect',
      `The bucket you are attempting to access must be addressed using the specified endpoint (bucket region ${found.region}).`,
      301,
    );
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

function token(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

function untoken(value: string): string {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  if (!value || token(decoded) !== value) throw awsError('InvalidArgument', 'The continuation token provided is incorrect');
  return decoded;
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

export const s3: ServiceOperations = {
  CreateBucket(
    ctx,
    input: {
      Bucket?: string;
      CreateBucketConfiguration?: { LocationConstraint?: string; Tags?: Array<{ Key?: string; Value?: string }> };
      ObjectOwnership?: string;
    },
  ) {
    const name = checkBucketName(input.Bucket);
    const constraint = input.CreateBucketConfiguration?.LocationConstraint;
    if (ctx.region === 'us-east-1') {
      if (constraint === 'us-east-1') throw awsError('InvalidLocationConstraint', 'The specified location-constraint is not valid');
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
    const ownership = input.ObjectOwnership ?? 'BucketOwnerEnforced';
    if (!['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'].includes(ownership)) {
      throw awsError('InvalidArgument', `Invalid x-amz-object-ownership header: ${ownership}`);
    }
    ctx.world.s3.buckets[name] = {
      name,
      region: ctx.region,
      owner: ctx.world.accountId,
      createdAt: ctx.now,
      tags: tagsFromTagSet(input.CreateBucketConfiguration?.Tags),
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      encryption: { SSEAlgorithm: 'AES256', BucketKeyEnabled: false },
      objectOwnership: ownership,
      objects: {},
    };
    return { Location: location, BucketArn: bucketArn(name) };
  },

  HeadBucket(ctx, input: { Bucket?: string }) {
    // HEAD answers carry no body: the SDK names the errors after the status alone.
    const found = typeof input.Bucket === 'string' ? ctx.world.s3.buckets[input.Bucket] : undefined;
    if (!found) throw awsError('NotFound', 'Not Found', 404);
    if (found.owner !== ctx.world.accountId) throw awsError('Forbidden', 'Forbidden', 403);
    if (found.region !== ctx.region) throw awsError('PermanentRedirect', 'Moved Permanently', 301);
    return { BucketRegion: found.region, BucketArn: bucketArn(found.name), AccessPointAlias: false };
  },

  GetBucketLocation(ctx, input: { Bucket?: string }) {
    const b = bucket(ctx, input.Bucket, 'GetBucketLocation');
    return b.region === 'us-east-1' ? {} : { LocationConstraint: b.region };
  },

  ListBuckets(ctx, input: { MaxBuckets?: number; ContinuationToken?: string; Prefix?: string; BucketRegion?: string }) {
    let list = Object.values(ctx.world.s3.buckets)
      .filter((b) => b.owner === ctx.world.accountId)
      .filter((b) => !input.Prefix || b.name.startsWith(input.Prefix))
      .filter((b) => !input.BucketRegion || b.region === input.BucketRegion)
      .sort((a, c) => (a.name < c.name ? -1 : 1));
    if (input.ContinuationToken) {
      const after = untoken(input.ContinuationToken);
      list = list.filter((b) => b.name > after);
    }
    let next: string | undefined;
    if (input.MaxBuckets !== undefined) {
      if (input.MaxBuckets < 1 || input.MaxBuckets > 10_000)
        throw awsError('InvalidArgument', 'Provided max-buckets not within range 1 to 10000');
      if (list.length > input.MaxBuckets) {
        list = list.slice(0, input.MaxBuckets);
        next = token(list[list.length - 1]!.name);
      }
    }
    return {
      Buckets: list.map((b) => ({
        Name: b.name,
        CreationDate: new Date(b.createdAt),
        BucketRegion: b.region,
        BucketArn: bucketArn(b.name),
      })),
      Owner: { ID: canonicalUserId(ctx.world.accountId) },
      ...(input.Prefix ? { Prefix: input.Prefix } : {}),
      ...(next ? { ContinuationToken: next } : {}),
    };
  },

  DeleteBucket(ctx, input: { Bucket?: string }) {
    const b = bucket(ctx, input.Bucket, 'DeleteBucket');
    if (Object.keys(b.objects).length) {
      throw awsError('BucketNotEmpty', 'The bucket you tried to delete is not empty. You must delete all versions in the bucket.', 409);
    }
    delete ctx.world.s3.buckets[b.name];
    return {};
  },

  PutPublicAccessBlock(ctx, input: { Bucket?: string; PublicAccessBlockConfiguration?: Partial<S3PublicAccessBlock> }) {
    const b = bucket(ctx, input.Bucket, 'PutPublicAccessBlock');
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

  GetPublicAccessBlock(ctx, input: { Bucket?: string }) {
    const b = bucket(ctx, input.Bucket, 'GetPublicAccessBlock');
    if (!b.publicAccessBlock) {
      throw awsError('NoSuchPublicAccessBlockConfiguration', 'The public access block configuration was not found', 404);
    }
    return { PublicAccessBlockConfiguration: { ...b.publicAccessBlock } };
  },

  DeletePublicAccessBlock(ctx, input: { Bucket?: string }) {
    delete bucket(ctx, input.Bucket, 'DeletePublicAccessBlock').publicAccessBlock;
    return {};
  },

  PutBucketEncryption(
    ctx,
    input: {
      Bucket?: string;
      ServerSideEncryptionConfiguration?: {
        Rules?: Array<{
          ApplyServerSideEncryptionByDefault?: { SSEAlgorithm?: string; KMSMasterKeyID?: string };
          BucketKeyEnabled?: boolean;
        }>;
      };
    },
  ) {
    const b = bucket(ctx, input.Bucket, 'PutBucketEncryption');
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

  GetBucketEncryption(ctx, input: { Bucket?: string }) {
    const { SSEAlgorithm, KMSMasterKeyID, BucketKeyEnabled } = bucket(ctx, input.Bucket, 'GetBucketEncryption').encryption;
    return {
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm, ...(KMSMasterKeyID ? { KMSMasterKeyID } : {}) }, BucketKeyEnabled }],
      },
    };
  },

  /** Every bucket is encrypted: deleting the configuration restores the SSE-S3 default. */
  DeleteBucketEncryption(ctx, input: { Bucket?: string }) {
    bucket(ctx, input.Bucket, 'DeleteBucketEncryption').encryption = { SSEAlgorithm: 'AES256', BucketKeyEnabled: false };
    return {};
  },

  PutBucketOwnershipControls(ctx, input: { Bucket?: string; OwnershipControls?: { Rules?: Array<{ ObjectOwnership?: string }> } }) {
    const b = bucket(ctx, input.Bucket, 'PutBucketOwnershipControls');
    const rules = input.OwnershipControls?.Rules ?? [];
    const ownership = rules[0]?.ObjectOwnership;
    if (rules.length !== 1 || !ownership || !['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'].includes(ownership)) {
      throw awsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    }
    b.objectOwnership = ownership;
    return {};
  },

  GetBucketOwnershipControls(ctx, input: { Bucket?: string }) {
    const b = bucket(ctx, input.Bucket, 'GetBucketOwnershipControls');
    if (!b.objectOwnership) throw awsError('OwnershipControlsNotFoundError', 'The bucket ownership controls were not found', 404);
    return { OwnershipControls: { Rules: [{ ObjectOwnership: b.objectOwnership }] } };
  },

  DeleteBucketOwnershipControls(ctx, input: { Bucket?: string }) {
    delete bucket(ctx, input.Bucket, 'DeleteBucketOwnershipControls').objectOwnership;
    return {};
  },

  PutBucketTagging(ctx, input: { Bucket?: string; Tagging?: { TagSet?: Array<{ Key?: string; Value?: string }> } }) {
    const b = bucket(ctx, input.Bucket, 'PutBucketTagging');
    if (!input.Tagging?.TagSet)
      throw awsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    b.tags = tagsFromTagSet(input.Tagging.TagSet);
    return {};
  },

  GetBucketTagging(ctx, input: { Bucket?: string }) {
    const b = bucket(ctx, input.Bucket, 'GetBucketTagging');
    if (!Object.keys(b.tags).length) throw awsError('NoSuchTagSet', 'The TagSet does not exist', 404);
    return { TagSet: tagList(b.tags) };
  },

  DeleteBucketTagging(ctx, input: { Bucket?: string }) {
    bucket(ctx, input.Bucket, 'DeleteBucketTagging').tags = {};
    return {};
  },

  PutBucketVersioning(ctx, input: { Bucket?: string; VersioningConfiguration?: { Status?: string } }) {
    const b = bucket(ctx, input.Bucket, 'PutBucketVersioning');
    const status = input.VersioningConfiguration?.Status;
    if (status !== 'Enabled' && status !== 'Suspended') {
      throw awsError('IllegalVersioningConfigurationException', 'The Versioning element must be specified');
    }
    b.versioning = status;
    return {};
  },

  GetBucketVersioning(ctx, input: { Bucket?: string }) {
    const b = bucket(ctx, input.Bucket, 'GetBucketVersioning');
    return b.versioning ? { Status: b.versioning } : {};
  },

  PutObject(ctx, input: { Bucket?: string; Key?: string; Body?: unknown; ContentLength?: number }) {
    const b = bucket(ctx, input.Bucket, 'PutObject');
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

  DeleteObject(ctx, input: { Bucket?: string; Key?: string; VersionId?: string }) {
    const b = bucket(ctx, input.Bucket, 'DeleteObject');
    if (!input.Key) throw awsError('InvalidArgument', 'An object key must be given');
    return deleteObject(ctx, b, input.Key, input.VersionId);
  },

  DeleteObjects(ctx, input: { Bucket?: string; Delete?: { Objects?: Array<{ Key?: string; VersionId?: string }>; Quiet?: boolean } }) {
    const b = bucket(ctx, input.Bucket, 'DeleteObjects');
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

  ListObjectVersions(ctx, input: { Bucket?: string; Prefix?: string; KeyMarker?: string; VersionIdMarker?: string; MaxKeys?: number }) {
    const b = bucket(ctx, input.Bucket, 'ListObjectVersions');
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

  ListObjectsV2(ctx, input: { Bucket?: string; Prefix?: string; ContinuationToken?: string; StartAfter?: string; MaxKeys?: number }) {
    const b = bucket(ctx, input.Bucket, 'ListObjectsV2');
    const limit = maxKeys(input.MaxKeys);
    const prefix = input.Prefix ?? '';
    const after = input.ContinuationToken !== undefined ? untoken(input.ContinuationToken) : input.StartAfter;
    const current = sortedKeys(b).filter((key) => {
      if (!key.startsWith(prefix) || (after !== undefined && key <= after)) return false;
      return !latest(b.objects[key])?.deleteMarker;
    });
    const page = current.slice(0, limit);
    const truncated = current.length > limit;
    return {
      Name: b.name,
      Prefix: prefix,
      MaxKeys: limit,
      KeyCount: page.length,
      IsTruncated: truncated,
      ...(input.ContinuationToken !== undefined ? { ContinuationToken: input.ContinuationToken } : {}),
      ...(input.StartAfter !== undefined ? { StartAfter: input.StartAfter } : {}),
      ...(truncated ? { NextContinuationToken: token(page[page.length - 1]!) } : {}),
      Contents: page.map((key) => {
        const v = latest(b.objects[key])!;
        return { Key: key, LastModified: new Date(v.lastModified), ETag: v.etag, Size: v.size, StorageClass: 'STANDARD' };
      }),
    };
  },
};

const { create, delete: remove } = AWS_MINUTES.s3Bucket;

/** Minutes each call takes on the sandbox clock (object calls take only the round trip). */
const latency: Record<string, number> = {
  CreateBucket: create,
  DeleteBucket: remove,
  PutPublicAccessBlock: create,
  DeletePublicAccessBlock: remove,
  PutBucketEncryption: create,
  DeleteBucketEncryption: remove,
  PutBucketOwnershipControls: create,
  DeleteBucketOwnershipControls: remove,
  PutBucketTagging: create,
  DeleteBucketTagging: remove,
  PutBucketVersioning: create,
};

export const s3Service: SandboxService<S3World> = {
  operations: s3,
  latency,
  empty: () => ({ buckets: {} }),
  inventory: (world) =>
    // Buckets of other accounts only hold their names here; they are not this account's resources.
    Object.values(world.s3.buckets)
      .filter((b) => b.owner === world.accountId)
      .map((b) => sandboxResource('AWS::S3::Bucket', b.name, b.name, b.tags)),
};

import type { SSM } from '@aws-sdk/client-ssm';
import { createHash } from 'node:crypto';
import { AWS_MINUTES } from '../aws/durations.js';
import {
  awsError,
  pageAfter,
  pageToken,
  sandboxResource,
  tagList,
  type OperationContext,
  type SandboxService,
  type SdkOperations,
  type Latency,
} from './core.js';
import { publicParameterValue } from './images.js';

/** SSM Parameter Store, keyed by `${region}:${name}`. */
export interface SsmWorld {
  parameters: Record<string, SsmParameter>;
}

export type SsmParameterType = 'String' | 'StringList' | 'SecureString';

export interface SsmParameter {
  name: string;
  region: string;
  type: SsmParameterType;
  value: string;
  version: number;
  createdAt: number;
  lastModified: number;
  tier: 'Standard' | 'Advanced';
  description?: string;
  /** SecureString only: the KMS key (alias/aws/ssm unless the caller named one). */
  keyId?: string;
  tags: Record<string, string>;
}

const TYPES: SsmParameterType[] = ['String', 'StringList', 'SecureString'];
const STANDARD_VALUE_CHARS = 4096;
const ADVANCED_VALUE_CHARS = 8192;
/** AWS reserves 1037 of the 2048 characters of a name for internal use: 1011 are left. */
const MAX_NAME_CHARS = 1011;
const MAX_DEPTH = 15;
const DEFAULT_KEY = 'alias/aws/ssm';

function validation(message: string): Error {
  return awsError('ValidationException', message);
}

function key(ctx: OperationContext, name: string): string {
  return `${ctx.region}:${name}`;
}

function arn(ctx: OperationContext, name: string): string {
  return `arn:aws:ssm:${ctx.region}:${ctx.world.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
}

/** The rules AWS applies to a name a parameter is created under. */
function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > MAX_NAME_CHARS) {
    throw validation(`Parameter name must be 1 to ${MAX_NAME_CHARS} characters long.`);
  }
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(name)) {
    throw validation(
      'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.',
    );
  }
  if (name.includes('/')) {
    if (!name.startsWith('/')) throw validation('Parameter name must be a fully qualified name.');
    const segments = name.slice(1).split('/');
    if (segments.some((s) => !s)) throw validation('Parameter name must be a fully qualified name.');
    if (segments.length > MAX_DEPTH) throw validation(`A parameter hierarchy can have a maximum of ${MAX_DEPTH} levels.`);
  }
  const first = name.startsWith('/') ? name.slice(1) : name;
  if (/^(aws|ssm)/i.test(first)) throw validation('No access to reserved parameter name: aws or ssm prefixes are reserved.');
  return name;
}

function checkNameList(names: unknown, field: string): string[] {
  if (!Array.isArray(names) || names.length < 1 || names.length > 10) {
    throw validation(
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length between 1 and 10`,
    );
  }
  return names as string[];
}

/** What a SecureString reads as without decryption: looks like KMS ciphertext, reveals nothing. */
function ciphertext(p: SsmParameter): string {
  const digest = createHash('sha256')
    .update(`ssm-sandbox-kms:${p.region}:${p.name}:${p.version}:${p.keyId ?? DEFAULT_KEY}`)
    .digest();
  return Buffer.concat([Buffer.from([0x01, 0x02, 0x02, 0x00, 0x78]), digest, createHash('sha256').update(digest).digest()]).toString(
    'base64',
  );
}

function view(ctx: OperationContext, p: SsmParameter, decrypt: boolean | undefined) {
  return {
    Name: p.name,
    Type: p.type,
    Value: p.type === 'SecureString' && !decrypt ? ciphertext(p) : p.value,
    Version: p.version,
    LastModifiedDate: new Date(p.lastModified),
    ARN: arn(ctx, p.name),
    DataType: 'text',
  };
}

function metadata(ctx: OperationContext, p: SsmParameter) {
  return {
    Name: p.name,
    ARN: arn(ctx, p.name),
    Type: p.type,
    ...(p.keyId ? { KeyId: p.keyId } : {}),
    LastModifiedDate: new Date(p.lastModified),
    LastModifiedUser: `arn:aws:iam::${ctx.world.accountId}:user/sandbox`,
    ...(p.description !== undefined ? { Description: p.description } : {}),
    Version: p.version,
    Tier: p.tier,
    Policies: [],
    DataType: 'text',
  };
}

function find(ctx: OperationContext, name: unknown): SsmParameter | undefined {
  return typeof name === 'string' ? ctx.world.ssm.parameters[key(ctx, name)] : undefined;
}

function notFound(name: unknown): Error {
  return awsError('ParameterNotFound', `Parameter ${String(name)} not found.`);
}

/** This region's parameters in name order: what every listing pages through. */
function inRegion(ctx: OperationContext): SsmParameter[] {
  return Object.values(ctx.world.ssm.parameters)
    .filter((p) => p.region === ctx.region)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function untoken(value: string): string {
  const after = pageAfter(value);
  if (after === undefined) throw validation('The specified token is invalid.');
  return after;
}

function page<T extends SsmParameter>(list: T[], max: number, nextToken: string | undefined) {
  const after = nextToken !== undefined ? untoken(nextToken) : undefined;
  const rest = after === undefined ? list : list.filter((p) => p.name > after);
  const items = rest.slice(0, max);
  return { items, next: rest.length > max ? pageToken(items[items.length - 1]!.name) : undefined };
}

function maxResults(value: unknown, limit: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > limit) {
    throw validation(
      `1 validation error detected: Value '${String(value)}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and ${limit}`,
    );
  }
  return value;
}

/** Whether `name` sits under `path` (directly, unless recursive). */
function under(name: string, path: string, recursive: boolean): boolean {
  const base = path.endsWith('/') ? path : `${path}/`;
  if (!name.startsWith(base) || name.length === base.length) return false;
  return recursive || !name.slice(base.length).includes('/');
}

function checkPath(path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > 2048 || !/^[a-zA-Z0-9_.\-/]+$/.test(path)) {
    throw validation(
      'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/".',
    );
  }
  return path;
}

type Filter = { Key?: string; Option?: string; Values?: string[] };

function filterMatches(f: Filter, p: SsmParameter): boolean {
  const values = f.Values ?? [];
  switch (f.Key) {
    case 'Name': {
      const option = f.Option ?? 'Equals';
      const names = values.map((v) => (p.name.startsWith('/') && !v.startsWith('/') ? `/${v}` : v));
      if (option === 'Equals') return names.includes(p.name);
      if (option === 'BeginsWith') return names.some((v) => p.name.startsWith(v));
      if (option === 'Contains') return values.some((v) => p.name.includes(v));
      throw awsError('InvalidFilterOption', `The filter option '${option}' is not valid for key 'Name'.`);
    }
    case 'Path': {
      const option = f.Option ?? 'OneLevel';
      if (option !== 'OneLevel' && option !== 'Recursive') {
        throw awsError('InvalidFilterOption', `The filter option '${option}' is not valid for key 'Path'.`);
      }
      return values.some((v) => under(p.name, checkPath(v), option === 'Recursive'));
    }
    case 'Type':
      return values.includes(p.type);
    case 'KeyId':
      return p.keyId !== undefined && values.includes(p.keyId);
    case 'Tier':
      return values.includes(p.tier);
    case 'DataType':
      return values.includes('text');
    default:
      if (f.Key?.startsWith('tag:')) {
        const tag = f.Key.slice(4);
        return tag in p.tags && (!values.length || values.includes(p.tags[tag]!));
      }
      throw awsError('InvalidFilterKey', `The filter key '${String(f.Key)}' is not valid.`);
  }
}

function tagsFrom(list: Array<{ Key?: string; Value?: string }> | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const tag of list ?? []) {
    const k = tag.Key ?? '';
    const v = tag.Value ?? '';
    if (k.length < 1 || k.length > 128 || v.length > 256) throw validation('Tag keys must be 1 to 128 characters and values at most 256.');
    if (k.toLowerCase().startsWith('aws:')) throw awsError('InvalidParameters', 'Tag keys beginning with aws: are reserved.');
    tags[k] = v;
  }
  return tags;
}

function taggedParameter(ctx: OperationContext, input: { ResourceType?: string; ResourceId?: string }): SsmParameter {
  if (input.ResourceType !== 'Parameter') {
    throw awsError('InvalidResourceType', `The sandbox keeps tags only for resource type Parameter, not ${String(input.ResourceType)}.`);
  }
  const found = find(ctx, input.ResourceId);
  if (!found) throw awsError('InvalidResourceId', 'The resource ID is not valid. Verify that you entered the correct ID and try again.');
  return found;
}

export const ssm: SdkOperations<SSM> = {
  PutParameter(ctx, input) {
    if (input.Overwrite && input.Tags?.length) {
      throw validation(
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
      );
    }
    const name = checkName(input.Name);
    if (typeof input.Value !== 'string' || input.Value.length < 1) {
      throw validation(
        "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    }
    if (input.Type !== undefined && !TYPES.includes(input.Type as SsmParameterType)) {
      throw validation(
        `1 validation error detected: Value '${input.Type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`,
      );
    }
    if (input.DataType !== undefined && input.DataType !== 'text') {
      throw validation(`The sandbox supports only the text data type, not ${input.DataType}.`);
    }
    if (input.Description !== undefined && input.Description.length > 1024) {
      throw validation('Parameter description must be at most 1024 characters.');
    }
    const existing = find(ctx, name);
    if (existing && !input.Overwrite) {
      throw awsError(
        'ParameterAlreadyExists',
        'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      );
    }
    const type = (input.Type ?? existing?.type) as SsmParameterType | undefined;
    if (!type) throw validation('A parameter type is required when you create a parameter.');
    if (input.KeyId && type !== 'SecureString') {
      throw validation('KeyId is required for SecureString type parameter only.');
    }
    let tier: SsmParameter['tier'];
    const requested = input.Tier ?? 'Standard';
    if (requested === 'Standard') {
      if (existing?.tier === 'Advanced') {
        throw validation(
          "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier.",
        );
      }
      tier = 'Standard';
    } else if (requested === 'Advanced') tier = 'Advanced';
    else if (requested === 'Intelligent-Tiering')
      tier = input.Value.length > STANDARD_VALUE_CHARS || existing?.tier === 'Advanced' ? 'Advanced' : 'Standard';
    else
      throw validation(
        `1 validation error detected: Value '${requested}' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]`,
      );
    if (tier === 'Standard' && input.Value.length > STANDARD_VALUE_CHARS) {
      throw validation(
        `Standard tier parameters support a maximum parameter value of ${STANDARD_VALUE_CHARS} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/advanced-parameters.html`,
      );
    }
    if (input.Value.length > ADVANCED_VALUE_CHARS) {
      throw validation(`Advanced tier parameters support a maximum parameter value of ${ADVANCED_VALUE_CHARS} characters.`);
    }
    const parameter: SsmParameter = {
      name,
      region: ctx.region,
      type,
      value: input.Value,
      version: (existing?.version ?? 0) + 1,
      createdAt: existing?.createdAt ?? ctx.now,
      lastModified: ctx.now,
      tier,
      ...(input.Description !== undefined
        ? { description: input.Description }
        : existing?.description !== undefined
          ? { description: existing.description }
          : {}),
      ...(type === 'SecureString' ? { keyId: input.KeyId ?? existing?.keyId ?? DEFAULT_KEY } : {}),
      tags: existing ? existing.tags : tagsFrom(input.Tags),
    };
    ctx.world.ssm.parameters[key(ctx, name)] = parameter;
    return { Version: parameter.version, Tier: parameter.tier };
  },

  GetParameter(ctx, input) {
    const found = find(ctx, input.Name);
    // AWS's public parameters (Canonical's current Ubuntu AMI) live under /aws/service/ in every region.
    const publicValue = typeof input.Name === 'string' ? publicParameterValue(ctx.region, input.Name) : undefined;
    if (!found && publicValue !== undefined) {
      return {
        Parameter: {
          Name: input.Name,
          Type: 'String',
          Value: publicValue,
          Version: 1,
          DataType: 'aws:ec2:image',
          ARN: `arn:aws:ssm:${ctx.region}::parameter${input.Name}`,
        },
      };
    }
    if (!found) throw notFound(input.Name);
    return { Parameter: view(ctx, found, input.WithDecryption) };
  },

  GetParameters(ctx, input) {
    const names = checkNameList(input.Names, 'names');
    const Parameters = [];
    const InvalidParameters: string[] = [];
    for (const name of new Set(names)) {
      const found = find(ctx, name);
      if (found) Parameters.push(view(ctx, found, input.WithDecryption));
      else InvalidParameters.push(name);
    }
    return { Parameters, InvalidParameters };
  },

  GetParametersByPath(ctx, input) {
    const path = checkPath(input.Path);
    const max = maxResults(input.MaxResults, 10, 10);
    for (const f of input.ParameterFilters ?? []) {
      if (f.Key === 'Name' || f.Key === 'Path')
        throw awsError('InvalidFilterKey', `The filter key '${f.Key}' is not valid for GetParametersByPath.`);
    }
    const matching = inRegion(ctx).filter(
      (p) => under(p.name, path, Boolean(input.Recursive)) && (input.ParameterFilters ?? []).every((f) => filterMatches(f, p)),
    );
    const { items, next } = page(matching, max, input.NextToken);
    return { Parameters: items.map((p) => view(ctx, p, input.WithDecryption)), ...(next ? { NextToken: next } : {}) };
  },

  DescribeParameters(ctx, input) {
    if (input.Filters?.length && input.ParameterFilters?.length) {
      throw validation('You can use either Filters or ParameterFilters in a single request, but not both.');
    }
    if (input.Filters?.length) throw validation('The sandbox supports ParameterFilters only, not the legacy Filters.');
    const max = maxResults(input.MaxResults, 50, 10);
    const matching = inRegion(ctx).filter((p) => (input.ParameterFilters ?? []).every((f) => filterMatches(f, p)));
    const { items, next } = page(matching, max, input.NextToken);
    return { Parameters: items.map((p) => metadata(ctx, p)), ...(next ? { NextToken: next } : {}) };
  },

  DeleteParameter(ctx, input) {
    const found = find(ctx, input.Name);
    if (!found) throw notFound(input.Name);
    delete ctx.world.ssm.parameters[key(ctx, found.name)];
    return {};
  },

  DeleteParameters(ctx, input) {
    const names = checkNameList(input.Names, 'names');
    const DeletedParameters: string[] = [];
    const InvalidParameters: string[] = [];
    for (const name of new Set(names)) {
      const found = find(ctx, name);
      if (found) {
        delete ctx.world.ssm.parameters[key(ctx, found.name)];
        DeletedParameters.push(name);
      } else InvalidParameters.push(name);
    }
    return { DeletedParameters, InvalidParameters };
  },

  AddTagsToResource(ctx, input) {
    const p = taggedParameter(ctx, input);
    const tags = { ...p.tags, ...tagsFrom(input.Tags) };
    if (Object.keys(tags).length > 50)
      throw awsError(
        'TooManyTagsError',
        'The Targets parameter includes too many tags. Remove one or more tags and try the command again.',
      );
    p.tags = tags;
    return {};
  },

  RemoveTagsFromResource(ctx, input) {
    const p = taggedParameter(ctx, input);
    for (const k of input.TagKeys ?? []) delete p.tags[k];
    return {};
  },

  ListTagsForResource(ctx, input) {
    return { TagList: tagList(taggedParameter(ctx, input).tags) };
  },
};

const { create, delete: remove } = AWS_MINUTES.ssmParameter;

/** Minutes each call takes on the sandbox clock (reads take only the round trip). */
const latency: Latency<'ssm'> = {
  PutParameter: create,
  DeleteParameter: remove,
  DeleteParameters: remove,
  AddTagsToResource: create,
  RemoveTagsFromResource: remove,
};

export const ssmService: SandboxService<SsmWorld, 'ssm'> = {
  name: 'ssm',
  operations: ssm,
  latency,
  empty: () => ({ parameters: {} }),
  inventory: (world) => Object.values(world.ssm.parameters).map((p) => sandboxResource('AWS::SSM::Parameter', p.name, p.name, p.tags)),
};

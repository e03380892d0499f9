import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { SSM, Tag } from '@aws-sdk/client-ssm';
import { AWS_MINUTES } from '../aws/durations.js';
import { errorCode } from '../aws/errors.js';
import { belongsTo } from '../aws/tags.js';
import { defineStep, type ResourceRef, type StepContext } from '../engine/step.js';
import { guideNames } from './names.js';
import { ownership } from './ownership.js';

const PARAMETER = 'AWS::SSM::Parameter';

/** 32 URL-safe characters: valid as an RDS master password and as an ElastiCache AUTH token. */
const password = () => randomBytes(24).toString('base64url');
const hex = (bytes: number) => () => randomBytes(bytes).toString('hex');
const rsaKey = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

/** What gitlab.rb and gitlab-secrets.json need, shared by every Rails node and Gitaly. */
export const SECRETS = {
  'database-password': password,
  'redis-auth-token': password,
  'gitaly-token': password,
  'root-password': password,
  'gitlab-shell-secret': hex(32),
  'rails/secret-key-base': hex(64),
  'rails/db-key-base': hex(64),
  'rails/otp-key-base': hex(64),
  'rails/encrypted-settings-key-base': hex(64),
  'rails/openid-connect-signing-key': rsaKey,
  'rails/ci-jwt-signing-key': rsaKey,
} as const;
export type SecretName = keyof typeof SECRETS;
const SECRET_NAMES = Object.keys(SECRETS) as [SecretName, ...SecretName[]];

/** Each secret's SSM parameter: /gitlab-aws/<deployment>/<secret>. */
export function parameterNames(deployment: string): Record<SecretName, string> {
  const path = guideNames(deployment).parameterPath;
  return Object.fromEntries(SECRET_NAMES.map((key) => [key, `${path}/${key}`])) as Record<SecretName, string>;
}

async function ensureParameter(ctx: StepContext, ssm: SSM, name: string, generate: () => string, exists: boolean): Promise<void> {
  if (exists) {
    await ownedOrRefuse(ctx, ssm, name);
  } else {
    const value = generate();
    ctx.secret(value);
    try {
      await ssm.putParameter({ Name: name, Value: value, Type: 'SecureString', Tags: ctx.tags(name) });
    } catch (err) {
      if (errorCode(err) !== 'ParameterAlreadyExists') throw err;
      await ownedOrRefuse(ctx, ssm, name);
    }
  }
  await ctx.record({ type: PARAMETER, id: name, name });
}

/** Never overwrite: the database or Redis may already use the first value; and never adopt another's. */
async function ownedOrRefuse(ctx: StepContext, ssm: SSM, name: string): Promise<void> {
  const tags = (await ssm.listTagsForResource({ ResourceType: 'Parameter', ResourceId: name })).TagList;
  if (!belongsTo(tags, ctx.deployment)) {
    throw new Error(`SSM parameter ${name} exists and does not belong to deployment '${ctx.deployment}'; remove it and resume`);
  }
}

/** A parameter's tags as SSM has them now; undefined when it is gone. */
async function parameterTags(ssm: SSM, name: string): Promise<Tag[] | undefined> {
  try {
    return (await ssm.listTagsForResource({ ResourceType: 'Parameter', ResourceId: name })).TagList ?? [];
  } catch (err) {
    if (['InvalidResourceId', 'ParameterNotFound'].includes(errorCode(err))) return undefined;
    throw err;
  }
}

async function listParameters(ctx: StepContext, ssm: SSM): Promise<string[]> {
  const path = guideNames(ctx.deployment).parameterPath;
  const names: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ssm.describeParameters({ ParameterFilters: [{ Key: 'Path', Option: 'Recursive', Values: [path] }], NextToken });
    names.push(...(page.Parameters ?? []).map((p) => p.Name!));
    NextToken = page.NextToken;
  } while (NextToken);
  return names;
}

/**
 * Every secret the installation needs, generated here with a CSPRNG and kept only in SSM
 * Parameter Store (SecureString) under /gitlab-aws/<deployment>/. The state file, the log and the
 * terminal only ever see parameter names; instances read the values at boot with their role.
 */
export const secrets = defineStep({
  id: 'secrets',
  title: 'Secrets in SSM Parameter Store',
  needs: [],
  minutes: 2 * AWS_MINUTES.ssmParameter.create,
  outputs: z.object({ path: z.string(), parameters: z.record(z.enum(SECRET_NAMES), z.string()) }),
  resources: (config) => Object.values(parameterNames(config.deployment)).map((name) => ({ type: PARAMETER, name })),

  async create(ctx) {
    const ssm = await ctx.aws.ssm();
    const parameters = parameterNames(ctx.deployment);
    // A resume finds most of them made already: generating (two RSA keys) only what is missing
    // keeps it quick. A parameter made since this listing is caught by ParameterAlreadyExists.
    const present = new Set(await listParameters(ctx, ssm));
    await ctx.each(SECRET_NAMES, (key) => ensureParameter(ctx, ssm, parameters[key], SECRETS[key], present.has(parameters[key])));
    return { path: guideNames(ctx.deployment).parameterPath, parameters };
  },

  async verify(ctx, outputs) {
    const ssm = await ctx.aws.ssm();
    const present = new Set(await listParameters(ctx, ssm));
    return Object.values(outputs.parameters).every((name) => present.has(name));
  },

  async discover(ctx) {
    const ssm = await ctx.aws.ssm();
    // The path is no proof: anyone can put a parameter under /gitlab-aws/<deployment>/. The tag is.
    const names = await listParameters(ctx, ssm);
    const tags = await ctx.each(names, (name) => parameterTags(ssm, name));
    return names.filter((_, i) => belongsTo(tags[i], ctx.deployment)).map((name) => ({ type: PARAMETER, id: name, name }));
  },

  async destroy(ctx, resources) {
    const ssm = await ctx.aws.ssm();
    const owner = ownership(ctx);
    const recorded = resources.filter((r) => r.type === PARAMETER);
    const ours = await ctx.each(recorded, (ref) => owner.ours(ref, () => parameterTags(ssm, ref.id)));
    const parameters = recorded.filter((_, i) => ours[i]);
    // DeleteParameters takes at most 10 names a call.
    for (let i = 0; i < parameters.length; i += 10) {
      const batch: ResourceRef[] = parameters.slice(i, i + 10);
      await ssm.deleteParameters({ Names: batch.map((p) => p.id) });
      for (const ref of batch) await ctx.forget(ref);
    }
    return owner.result();
  },
});

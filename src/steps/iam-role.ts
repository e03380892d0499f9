import { z } from 'zod';
import type { IAM, Tag as IamTag } from '@aws-sdk/client-iam';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { unlessNotFound } from '../aws/errors.js';
import { callerIdentity } from '../aws/identity.js';
import { belongsTo } from '../aws/tags.js';
import { defineStep, type ResourceRef, type StepContext } from '../engine/step.js';
import { bucketNames, guideNames } from './names.js';
import { ownership, type Seen } from './ownership.js';

const POLICY = 'AWS::IAM::ManagedPolicy';
const ROLE = 'AWS::IAM::Role';
const PROFILE = 'AWS::IAM::InstanceProfile';

/**
 * The guide's policy, least privilege: its S3 actions on exactly this deployment's buckets, and
 * reading this deployment's secrets (SSM parameters under /gitlab-aws/<deployment>/) at boot, and
 * storing the keys GitLab generates below /gitlab-aws/<deployment>/generated/.
 */
export function instancePolicyDocument(buckets: string[], parameterArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:PutObjectAcl'],
        Resource: buckets.map((b) => `arn:aws:s3:::${b}/*`),
      },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:ListBucketMultipartUploads'],
        Resource: buckets.map((b) => `arn:aws:s3:::${b}`),
      },
      {
        Effect: 'Allow',
        Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
        Resource: [parameterArn, `${parameterArn}/*`],
      },
      {
        // The base stores the keys its first reconfigure generated (user-data.ts), tagged.
        Effect: 'Allow',
        Action: ['ssm:PutParameter', 'ssm:AddTagsToResource'],
        Resource: [`${parameterArn}/generated/*`],
      },
    ],
  });
}

const EC2_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** An IAM name is unique in the account: adopt it only if it carries our deployment tag. */
function refuseForeign(kind: string, name: string, tags: IamTag[] | undefined, deployment: string): void {
  if (!belongsTo(tags, deployment)) {
    throw new Error(
      `IAM ${kind} '${name}' already exists and does not belong to deployment '${deployment}'; choose another --deployment or remove it`,
    );
  }
}

async function ensurePolicy(ctx: StepContext, iam: IAM, arn: string, name: string, document: string): Promise<void> {
  const existing = await unlessNotFound(() => iam.getPolicy({ PolicyArn: arn }));
  if (!existing) {
    await iam.createPolicy({ PolicyName: name, PolicyDocument: document, Tags: ctx.tags(name) });
    await ctx.record({ type: POLICY, id: arn, name });
    return;
  }
  refuseForeign('policy', name, existing.Policy?.Tags, ctx.deployment);
  await ctx.record({ type: POLICY, id: arn, name });
  const current = await iam.getPolicyVersion({ PolicyArn: arn, VersionId: existing.Policy!.DefaultVersionId! });
  if (sameJson(decodeURIComponent(current.PolicyVersion!.Document!), document)) return;
  // The buckets changed since the policy was written: make the new document the default version.
  const versions = (await iam.listPolicyVersions({ PolicyArn: arn })).Versions ?? [];
  const old = versions.filter((v) => !v.IsDefaultVersion);
  if (versions.length >= 5) await iam.deletePolicyVersion({ PolicyArn: arn, VersionId: old[old.length - 1]!.VersionId! });
  await iam.createPolicyVersion({ PolicyArn: arn, PolicyDocument: document, SetAsDefault: true });
}

function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}

/** Guide: "Create an IAM EC2 instance role and profile" (policy gl-s3-policy, role GitLabS3Access). */
export const iamRole = defineStep({
  id: 'iam-role',
  title: 'IAM policy, role and instance profile',
  needs: [],
  minutes: 3 * AWS_MINUTES.iam.create,
  outputs: z.object({
    accountId: z.string(),
    policyArn: z.string(),
    roleName: z.string(),
    roleArn: z.string(),
    instanceProfileName: z.string(),
    instanceProfileArn: z.string(),
  }),
  resources: (config) => {
    const names = guideNames(config.deployment);
    return [
      { type: POLICY, name: names.s3Policy },
      { type: ROLE, name: names.instanceRole },
      { type: PROFILE, name: names.instanceRole },
    ];
  },

  async create(ctx) {
    const iam = await ctx.aws.iam();
    const names = guideNames(ctx.deployment);
    const account = (await callerIdentity(ctx.aws)).account;
    const policyArn = `arn:aws:iam::${account}:policy/${names.s3Policy}`;
    const parameterArn = `arn:aws:ssm:${ctx.region}:${account}:parameter${names.parameterPath}`;
    const document = instancePolicyDocument(Object.values(bucketNames(ctx.config, account)), parameterArn);
    await ensurePolicy(ctx, iam, policyArn, names.s3Policy, document);

    const roleName = names.instanceRole;
    let role = (await unlessNotFound(() => iam.getRole({ RoleName: roleName })))?.Role;
    if (role) refuseForeign('role', roleName, role.Tags, ctx.deployment);
    else role = (await iam.createRole({ RoleName: roleName, AssumeRolePolicyDocument: EC2_TRUST, Tags: ctx.tags(roleName) })).Role!;
    await ctx.record({ type: ROLE, id: roleName, name: roleName });
    await iam.attachRolePolicy({ RoleName: roleName, PolicyArn: policyArn });

    let profile = (await unlessNotFound(() => iam.getInstanceProfile({ InstanceProfileName: roleName })))?.InstanceProfile;
    if (profile) refuseForeign('instance profile', roleName, profile.Tags, ctx.deployment);
    else profile = (await iam.createInstanceProfile({ InstanceProfileName: roleName, Tags: ctx.tags(roleName) })).InstanceProfile!;
    await ctx.record({ type: PROFILE, id: roleName, name: roleName });
    // A second AddRoleToInstanceProfile fails with LimitExceeded (which the SDK retries as
    // throttling), so look before adding.
    if (!profile.Roles?.some((r) => r.RoleName === roleName)) {
      await iam.addRoleToInstanceProfile({ InstanceProfileName: roleName, RoleName: roleName });
    }
    return {
      accountId: account,
      policyArn,
      roleName,
      roleArn: role.Arn!,
      instanceProfileName: roleName,
      instanceProfileArn: profile.Arn!,
    };
  },

  async verify(ctx, outputs) {
    const iam = await ctx.aws.iam();
    const profile = await unlessNotFound(() => iam.getInstanceProfile({ InstanceProfileName: outputs.instanceProfileName }));
    if (!profile?.InstanceProfile?.Roles?.some((r) => r.RoleName === outputs.roleName)) return false;
    // The policy can be detached and deleted by hand while role and profile stay.
    const attached = await unlessNotFound(() => iam.listAttachedRolePolicies({ RoleName: outputs.roleName }));
    return Boolean(attached?.AttachedPolicies?.some((p) => p.PolicyArn === outputs.policyArn));
  },

  async discover(ctx) {
    const iam = await ctx.aws.iam();
    const names = guideNames(ctx.deployment);
    const account = (await callerIdentity(ctx.aws)).account;
    const found: ResourceRef[] = [];
    const policyArn = `arn:aws:iam::${account}:policy/${names.s3Policy}`;
    const policy = await unlessNotFound(() => iam.getPolicy({ PolicyArn: policyArn }));
    if (belongsTo(policy?.Policy?.Tags, ctx.deployment)) found.push({ type: POLICY, id: policyArn, name: names.s3Policy });
    const role = await unlessNotFound(() => iam.getRole({ RoleName: names.instanceRole }));
    if (belongsTo(role?.Role?.Tags, ctx.deployment)) found.push({ type: ROLE, id: names.instanceRole, name: names.instanceRole });
    const profile = await unlessNotFound(() => iam.getInstanceProfile({ InstanceProfileName: names.instanceRole }));
    if (belongsTo(profile?.InstanceProfile?.Tags, ctx.deployment))
      found.push({ type: PROFILE, id: names.instanceRole, name: names.instanceRole });
    return found;
  },

  async destroy(ctx, resources) {
    const iam = await ctx.aws.iam();
    const owner = ownership(ctx);
    // The tags as IAM has them now (a name can be someone else's since we recorded it); the
    // role in the profile and the policy attachments are ours when the profile or role is.
    const seen = async (ref: ResourceRef): Promise<Seen> => {
      const found =
        ref.type === PROFILE
          ? (await unlessNotFound(() => iam.getInstanceProfile({ InstanceProfileName: ref.id })))?.InstanceProfile
          : ref.type === ROLE
            ? (await unlessNotFound(() => iam.getRole({ RoleName: ref.id })))?.Role
            : (await unlessNotFound(() => iam.getPolicy({ PolicyArn: ref.id })))?.Policy;
      return found && (found.Tags ?? []);
    };
    const gone = async (ref: ResourceRef, remove: () => Promise<unknown>) => {
      if (!(await owner.ours(ref, () => seen(ref)))) return;
      await unlessNotFound(remove);
      await ctx.forget(ref);
    };
    // Profile, then role, then policy: each of the later ones refuses deletion while in use.
    for (const ref of resources.filter((r) => r.type === PROFILE)) {
      await gone(ref, async () => {
        const profile = await iam.getInstanceProfile({ InstanceProfileName: ref.id });
        for (const role of profile.InstanceProfile?.Roles ?? []) {
          await iam.removeRoleFromInstanceProfile({ InstanceProfileName: ref.id, RoleName: role.RoleName! });
        }
        await iam.deleteInstanceProfile({ InstanceProfileName: ref.id });
      });
    }
    for (const ref of resources.filter((r) => r.type === ROLE)) {
      await gone(ref, async () => {
        const attached = await iam.listAttachedRolePolicies({ RoleName: ref.id });
        for (const policy of attached.AttachedPolicies ?? []) {
          await iam.detachRolePolicy({ RoleName: ref.id, PolicyArn: policy.PolicyArn! });
        }
        await ctx.retry(`IAM role ${ref.id} to be deletable`, ['dependency'], 2 * MINUTE, () => iam.deleteRole({ RoleName: ref.id }));
      });
    }
    for (const ref of resources.filter((r) => r.type === POLICY)) {
      await gone(ref, async () => {
        const versions = (await iam.listPolicyVersions({ PolicyArn: ref.id })).Versions ?? [];
        for (const v of versions.filter((v) => !v.IsDefaultVersion)) {
          await iam.deletePolicyVersion({ PolicyArn: ref.id, VersionId: v.VersionId! });
        }
        await ctx.retry(`IAM policy ${ref.name ?? ref.id} to be detached`, ['dependency'], 2 * MINUTE, () =>
          iam.deletePolicy({ PolicyArn: ref.id }),
        );
      });
    }
    return owner.result();
  },
});

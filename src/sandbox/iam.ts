import type { IAM } from '@aws-sdk/client-iam';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import {
  awsError,
  sandboxResource,
  tagList,
  tagsFromList,
  type OperationContext,
  type SandboxService,
  type SdkOperations,
} from './core.js';
import type { World } from './world.js';

export interface IamPolicy {
  name: string;
  arn: string;
  id: string;
  createdAt: number;
  tags: Record<string, string>;
  defaultVersion: string;
  versions: Record<string, { document: string; createdAt: number }>;
  nextVersion: number;
}

export interface IamRole {
  name: string;
  arn: string;
  id: string;
  createdAt: number;
  tags: Record<string, string>;
  assumeRolePolicy: string;
  attachedPolicies: string[];
}

export interface IamInstanceProfile {
  name: string;
  arn: string;
  id: string;
  createdAt: number;
  tags: Record<string, string>;
  roles: string[];
  /** When the current role was added: EC2 sees the profile only after IAM propagation. */
  roleAddedAt?: number;
}

/** IAM's part of the account: global, keyed by name as IAM keeps names unique. */
export interface IamWorld {
  policies: Record<string, IamPolicy>;
  roles: Record<string, IamRole>;
  instanceProfiles: Record<string, IamInstanceProfile>;
}

const MAX_POLICY_VERSIONS = 5;

function arn(ctx: OperationContext, kind: string, name: string) {
  return `arn:aws:iam::${ctx.world.accountId}:${kind}/${name}`;
}

function noSuchEntity(what: string, name: string): Error {
  return awsError('NoSuchEntity', `The ${what} with name ${name} cannot be found.`, 404);
}

function checkName(name: string | undefined, what: string): string {
  if (!name || !/^[\w+=,.@-]{1,128}$/.test(name)) {
    throw awsError('ValidationError', `${what} name '${name}' does not satisfy the constraint [\\w+=,.@-]{1,128}`);
  }
  return name;
}

function checkDocument(document: string | undefined): string {
  try {
    const parsed = JSON.parse(document ?? '');
    if (!parsed || typeof parsed !== 'object' || (!Array.isArray(parsed.Statement) && typeof parsed.Statement !== 'object')) {
      throw new Error('no Statement');
    }
  } catch {
    throw awsError('MalformedPolicyDocument', 'Syntax errors in policy.');
  }
  return document!;
}

function policyByArn(ctx: OperationContext, policyArn: string | undefined) {
  const policy = Object.values(ctx.world.iam.policies).find((p) => p.arn === policyArn);
  if (!policy) throw awsError('NoSuchEntity', `Policy ${policyArn} does not exist or is not attachable.`, 404);
  return policy;
}

function role(ctx: OperationContext, name: string | undefined) {
  const found = name ? ctx.world.iam.roles[name] : undefined;
  if (!found) throw noSuchEntity('role', String(name));
  return found;
}

function instanceProfile(ctx: OperationContext, name: string | undefined) {
  const found = name ? ctx.world.iam.instanceProfiles[name] : undefined;
  if (!found) throw awsError('NoSuchEntity', `Instance Profile ${name} cannot be found.`, 404);
  return found;
}

function policyView(p: IamPolicy) {
  return {
    PolicyName: p.name,
    PolicyId: p.id,
    Arn: p.arn,
    Path: '/',
    DefaultVersionId: p.defaultVersion,
    AttachmentCount: 0,
    IsAttachable: true,
    Tags: tagList(p.tags),
  };
}

function roleView(r: IamRole) {
  return {
    RoleName: r.name,
    RoleId: r.id,
    Arn: r.arn,
    Path: '/',
    AssumeRolePolicyDocument: encodeURIComponent(r.assumeRolePolicy),
    CreateDate: new Date(r.createdAt),
    Tags: tagList(r.tags),
  };
}

function profileView(ctx: OperationContext, p: IamInstanceProfile) {
  return {
    InstanceProfileName: p.name,
    InstanceProfileId: p.id,
    Arn: p.arn,
    Path: '/',
    CreateDate: new Date(p.createdAt),
    Roles: p.roles.map((name) => roleView(ctx.world.iam.roles[name]!)),
    Tags: tagList(p.tags),
  };
}

/** When EC2 can first launch with this profile: IAM changes take a while to reach EC2. */
export function instanceProfileUsableAt(world: World, name: string): number | undefined {
  const profile = world.iam.instanceProfiles[name];
  if (!profile || !profile.roles.length || profile.roleAddedAt === undefined) return undefined;
  return Math.max(profile.createdAt, profile.roleAddedAt) + AWS_MINUTES.iam.propagation * MINUTE;
}

function attachedAnywhere(ctx: OperationContext, policyArn: string) {
  return Object.values(ctx.world.iam.roles).some((r) => r.attachedPolicies.includes(policyArn));
}

export const iam: SdkOperations<IAM> = {
  CreatePolicy(ctx, input) {
    const name = checkName(input.PolicyName, 'Policy');
    if (ctx.world.iam.policies[name])
      throw awsError('EntityAlreadyExists', `A policy called ${name} already exists. Duplicate names are not allowed.`, 409);
    const document = checkDocument(input.PolicyDocument);
    const policy = {
      name,
      arn: arn(ctx, 'policy', name),
      id: ctx.newId('ANPA', 17).replace('-', '').toUpperCase(),
      createdAt: ctx.now,
      tags: tagsFromList(input.Tags),
      defaultVersion: 'v1',
      versions: { v1: { document, createdAt: ctx.now } },
      nextVersion: 2,
    };
    ctx.world.iam.policies[name] = policy;
    return { Policy: policyView(policy) };
  },

  GetPolicy: (ctx, input) => ({ Policy: policyView(policyByArn(ctx, input.PolicyArn)) }),

  GetPolicyVersion(ctx, input) {
    const policy = policyByArn(ctx, input.PolicyArn);
    const version = policy.versions[input.VersionId ?? ''];
    if (!version) throw awsError('NoSuchEntity', `Policy ${policy.arn} version ${input.VersionId} does not exist.`, 404);
    return {
      PolicyVersion: {
        Document: encodeURIComponent(version.document),
        VersionId: input.VersionId,
        IsDefaultVersion: input.VersionId === policy.defaultVersion,
      },
    };
  },

  ListPolicyVersions(ctx, input) {
    const policy = policyByArn(ctx, input.PolicyArn);
    return {
      Versions: Object.keys(policy.versions).map((VersionId) => ({ VersionId, IsDefaultVersion: VersionId === policy.defaultVersion })),
    };
  },

  CreatePolicyVersion(ctx, input) {
    const policy = policyByArn(ctx, input.PolicyArn);
    if (Object.keys(policy.versions).length >= MAX_POLICY_VERSIONS) {
      throw awsError('LimitExceeded', `A managed policy can have up to ${MAX_POLICY_VERSIONS} versions.`, 409);
    }
    const versionId = `v${policy.nextVersion++}`;
    policy.versions[versionId] = { document: checkDocument(input.PolicyDocument), createdAt: ctx.now };
    if (input.SetAsDefault) policy.defaultVersion = versionId;
    return { PolicyVersion: { VersionId: versionId, IsDefaultVersion: policy.defaultVersion === versionId } };
  },

  DeletePolicyVersion(ctx, input) {
    const policy = policyByArn(ctx, input.PolicyArn);
    if (input.VersionId === policy.defaultVersion) {
      throw awsError('DeleteConflict', 'Cannot delete the default version of a policy.', 409);
    }
    if (!policy.versions[input.VersionId ?? '']) throw awsError('NoSuchEntity', `Version ${input.VersionId} does not exist.`, 404);
    delete policy.versions[input.VersionId!];
    return {};
  },

  DeletePolicy(ctx, input) {
    const policy = policyByArn(ctx, input.PolicyArn);
    if (attachedAnywhere(ctx, policy.arn)) throw awsError('DeleteConflict', 'Cannot delete a policy attached to entities.', 409);
    if (Object.keys(policy.versions).length > 1)
      throw awsError(
        'DeleteConflict',
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions.",
        409,
      );
    delete ctx.world.iam.policies[policy.name];
    return {};
  },

  CreateRole(ctx, input) {
    const name = checkName(input.RoleName, 'Role');
    if (ctx.world.iam.roles[name]) throw awsError('EntityAlreadyExists', `Role with name ${name} already exists.`, 409);
    const created = {
      name,
      arn: arn(ctx, 'role', name),
      id: ctx.newId('AROA', 17).replace('-', '').toUpperCase(),
      createdAt: ctx.now,
      tags: tagsFromList(input.Tags),
      assumeRolePolicy: checkDocument(input.AssumeRolePolicyDocument),
      attachedPolicies: [],
    };
    ctx.world.iam.roles[name] = created;
    return { Role: roleView(created) };
  },

  GetRole: (ctx, input) => ({ Role: roleView(role(ctx, input.RoleName)) }),

  DeleteRole(ctx, input) {
    const found = role(ctx, input.RoleName);
    if (found.attachedPolicies.length) throw awsError('DeleteConflict', 'Cannot delete entity, must detach all policies first.', 409);
    if (Object.values(ctx.world.iam.instanceProfiles).some((p) => p.roles.includes(found.name))) {
      throw awsError('DeleteConflict', 'Cannot delete entity, must remove roles from instance profile first.', 409);
    }
    delete ctx.world.iam.roles[found.name];
    return {};
  },

  AttachRolePolicy(ctx, input) {
    const found = role(ctx, input.RoleName);
    const policy = policyByArn(ctx, input.PolicyArn);
    if (!found.attachedPolicies.includes(policy.arn)) found.attachedPolicies.push(policy.arn);
    return {};
  },

  DetachRolePolicy(ctx, input) {
    const found = role(ctx, input.RoleName);
    if (!found.attachedPolicies.includes(input.PolicyArn ?? '')) {
      throw awsError('NoSuchEntity', `Policy ${input.PolicyArn} was not found.`, 404);
    }
    found.attachedPolicies = found.attachedPolicies.filter((a) => a !== input.PolicyArn);
    return {};
  },

  ListAttachedRolePolicies(ctx, input) {
    const found = role(ctx, input.RoleName);
    return {
      AttachedPolicies: found.attachedPolicies.map((policyArn) => ({ PolicyArn: policyArn, PolicyName: policyArn.split('/').pop() })),
      IsTruncated: false,
    };
  },

  CreateInstanceProfile(ctx, input) {
    const name = checkName(input.InstanceProfileName, 'Instance profile');
    if (ctx.world.iam.instanceProfiles[name]) throw awsError('EntityAlreadyExists', `Instance Profile ${name} already exists.`, 409);
    const profile = {
      name,
      arn: arn(ctx, 'instance-profile', name),
      id: ctx.newId('AIPA', 17).replace('-', '').toUpperCase(),
      createdAt: ctx.now,
      tags: tagsFromList(input.Tags),
      roles: [] as string[],
    };
    ctx.world.iam.instanceProfiles[name] = profile;
    return { InstanceProfile: profileView(ctx, profile) };
  },

  GetInstanceProfile: (ctx, input) => ({
    InstanceProfile: profileView(ctx, instanceProfile(ctx, input.InstanceProfileName)),
  }),

  AddRoleToInstanceProfile(ctx, input) {
    const profile = instanceProfile(ctx, input.InstanceProfileName);
    const added = role(ctx, input.RoleName);
    if (profile.roles.length) {
      throw awsError('LimitExceeded', 'Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1', 409);
    }
    profile.roles.push(added.name);
    profile.roleAddedAt = ctx.now;
    return {};
  },

  RemoveRoleFromInstanceProfile(ctx, input) {
    const profile = instanceProfile(ctx, input.InstanceProfileName);
    if (!profile.roles.includes(input.RoleName ?? '')) throw noSuchEntity('role', String(input.RoleName));
    profile.roles = profile.roles.filter((r) => r !== input.RoleName);
    return {};
  },

  DeleteInstanceProfile(ctx, input) {
    const profile = instanceProfile(ctx, input.InstanceProfileName);
    if (profile.roles.length) throw awsError('DeleteConflict', 'Cannot delete entity, must remove roles from instance profile first.', 409);
    delete ctx.world.iam.instanceProfiles[profile.name];
    return {};
  },
};

export const iamService: SandboxService<IamWorld, 'iam'> = {
  name: 'iam',
  operations: iam,
  latency: Object.fromEntries(
    Object.keys(iam).flatMap((op) =>
      op.startsWith('Create') ? [[op, AWS_MINUTES.iam.create]] : op.startsWith('Delete') ? [[op, AWS_MINUTES.iam.delete]] : [],
    ),
  ),
  empty: () => ({ policies: {}, roles: {}, instanceProfiles: {} }),
  inventory: (world) => [
    ...Object.values(world.iam.policies).map((p) => sandboxResource('AWS::IAM::ManagedPolicy', p.arn, p.name, p.tags)),
    ...Object.values(world.iam.roles).map((r) => sandboxResource('AWS::IAM::Role', r.name, r.name, r.tags)),
    ...Object.values(world.iam.instanceProfiles).map((p) => sandboxResource('AWS::IAM::InstanceProfile', p.name, p.name, p.tags)),
  ],
};

import type {
  EC2,
  LaunchTemplate,
  LaunchTemplateVersion,
  RequestLaunchTemplateData,
  ResponseLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import { awsError, tagList, tagsFromSpecifications, type OperationContext, type SdkOperations } from './core.js';
import { all, create, matches, type Ec2Resource } from './ec2.js';
import type { LaunchSpec } from './instances.js';

/**
 * Launch templates: numbered versions of launch data, one of them the default. The Auto Scaling
 * plug-in resolves a template and a version to launch data with `launchTemplateData`.
 */

interface StoredVersion {
  number: number;
  description?: string;
  createdAt: number;
  /** The request's data as given (the response spells the same fields the same way). */
  data: RequestLaunchTemplateData;
}

const NAME = /^[a-zA-Z0-9().\-/_]{3,128}$/;

function versionsOf(t: Ec2Resource): StoredVersion[] {
  return t.attrs.versions as StoredVersion[];
}

/** A template by ID or name, as AWS looks them up (each its own error code). */
export function launchTemplateOf(ctx: OperationContext, ref: { LaunchTemplateId?: string; LaunchTemplateName?: string }): Ec2Resource {
  const templates = all(ctx, 'launch-template');
  if (ref.LaunchTemplateId) {
    const t = templates.find((x) => x.id === ref.LaunchTemplateId);
    if (!t)
      throw awsError(
        'InvalidLaunchTemplateId.NotFound',
        `The specified launch template, with template ID ${ref.LaunchTemplateId}, does not exist.`,
      );
    return t;
  }
  const t = templates.find((x) => x.attrs.name === ref.LaunchTemplateName);
  if (!t) {
    throw awsError(
      'InvalidLaunchTemplateName.NotFoundException',
      `The specified launch template, with template name ${ref.LaunchTemplateName}, does not exist.`,
    );
  }
  return t;
}

/** `$Latest`, `$Default` or a number, as every launch template call takes a version. */
function versionOf(t: Ec2Resource, version: string | undefined): StoredVersion {
  const versions = versionsOf(t);
  const wanted =
    version === undefined || version === '$Default'
      ? (t.attrs.defaultVersion as number)
      : version === '$Latest'
        ? versions[versions.length - 1]!.number
        : Number(version);
  const found = versions.find((v) => v.number === wanted);
  if (!found) {
    throw awsError(
      'InvalidLaunchTemplateId.VersionNotFound',
      `Could not find launch template version ${version} for the launch template with ID ${t.id}.`,
    );
  }
  return found;
}

/**
 * What an instance launched from a template version gets: its data in RunInstances' words
 * (security groups of its first network interface count as the instance's).
 */
export function launchTemplateData(
  ctx: OperationContext,
  ref: { LaunchTemplateId?: string; LaunchTemplateName?: string; Version?: string },
): LaunchSpec {
  const data = versionOf(launchTemplateOf(ctx, ref), ref.Version).data;
  const nic = data.NetworkInterfaces?.[0];
  return {
    ImageId: data.ImageId,
    InstanceType: data.InstanceType,
    KeyName: data.KeyName,
    UserData: data.UserData,
    SecurityGroupIds: data.SecurityGroupIds ?? nic?.Groups,
    ...(nic?.SubnetId ? { SubnetId: nic.SubnetId } : {}),
    IamInstanceProfile: data.IamInstanceProfile,
    MetadataOptions: data.MetadataOptions,
    BlockDeviceMappings: data.BlockDeviceMappings,
    TagSpecifications: data.TagSpecifications,
  };
}

function templateView(t: Ec2Resource): LaunchTemplate {
  const versions = versionsOf(t);
  return {
    LaunchTemplateId: t.id,
    LaunchTemplateName: t.attrs.name,
    CreateTime: new Date(t.createdAt),
    CreatedBy: t.attrs.createdBy,
    DefaultVersionNumber: t.attrs.defaultVersion,
    LatestVersionNumber: versions[versions.length - 1]!.number,
    Tags: tagList(t.tags),
  };
}

function versionView(t: Ec2Resource, v: StoredVersion): LaunchTemplateVersion {
  return {
    LaunchTemplateId: t.id,
    LaunchTemplateName: t.attrs.name,
    VersionNumber: v.number,
    VersionDescription: v.description,
    CreateTime: new Date(v.createdAt),
    CreatedBy: t.attrs.createdBy,
    DefaultVersion: v.number === t.attrs.defaultVersion,
    LaunchTemplateData: v.data as ResponseLaunchTemplateData,
  };
}

function checkData(data: RequestLaunchTemplateData | undefined): RequestLaunchTemplateData {
  if (!data) throw awsError('MissingParameter', 'The request must contain the parameter LaunchTemplateData');
  if (data.UserData !== undefined && (!/^[A-Za-z0-9+/]*={0,2}$/.test(data.UserData) || data.UserData.length % 4 !== 0)) {
    throw awsError('InvalidUserData.Malformed', 'Invalid BASE64 encoding of user data.');
  }
  // Plain JSON, so the world file keeps it as given.
  return JSON.parse(JSON.stringify(data)) as RequestLaunchTemplateData;
}

export const launchTemplates: SdkOperations<EC2> = {
  CreateLaunchTemplate(ctx, input) {
    const name = input.LaunchTemplateName ?? '';
    if (!NAME.test(name)) {
      throw awsError(
        'InvalidLaunchTemplateName.MalformedException',
        `A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.'`,
      );
    }
    const data = checkData(input.LaunchTemplateData);
    const tags = tagsFromSpecifications(input.TagSpecifications, 'launch-template');
    const { id } = ctx.idempotent('CreateLaunchTemplate', input.ClientToken, input, () => {
      if (all(ctx, 'launch-template').some((t) => t.attrs.name === name)) {
        throw awsError('InvalidLaunchTemplateName.AlreadyExistsException', `Launch template name already in use.`);
      }
      const t = create(ctx, 'launch-template', 'lt', tags, 0, {
        name,
        createdBy: `arn:aws:iam::${ctx.world.accountId}:user/sandbox`,
        defaultVersion: 1,
        versions: [{ number: 1, description: input.VersionDescription, createdAt: ctx.now, data }] satisfies StoredVersion[],
      });
      return t.id;
    });
    const t = ctx.world.ec2[id];
    if (!t) throw awsError('InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${id}, does not exist.`);
    return { LaunchTemplate: templateView(t) };
  },

  CreateLaunchTemplateVersion(ctx, input) {
    const t = launchTemplateOf(ctx, input);
    const source = input.SourceVersion !== undefined ? versionOf(t, input.SourceVersion).data : {};
    const data = { ...source, ...checkData(input.LaunchTemplateData) };
    const { id } = ctx.idempotent('CreateLaunchTemplateVersion', input.ClientToken, input, () => {
      const versions = versionsOf(t);
      const number = versions[versions.length - 1]!.number + 1;
      versions.push({ number, description: input.VersionDescription, createdAt: ctx.now, data });
      return `${t.id}:${number}`;
    });
    const number = Number(id.split(':')[1]);
    return { LaunchTemplateVersion: versionView(t, versionOf(t, String(number))) };
  },

  ModifyLaunchTemplate(ctx, input) {
    const t = launchTemplateOf(ctx, input);
    if (input.DefaultVersion !== undefined) t.attrs.defaultVersion = versionOf(t, input.DefaultVersion).number;
    return { LaunchTemplate: templateView(t) };
  },

  DescribeLaunchTemplates(ctx, input) {
    let found = all(ctx, 'launch-template');
    if (input.LaunchTemplateIds?.length)
      found = input.LaunchTemplateIds.map((LaunchTemplateId) => launchTemplateOf(ctx, { LaunchTemplateId }));
    if (input.LaunchTemplateNames?.length) {
      found = input.LaunchTemplateNames.map((LaunchTemplateName) => launchTemplateOf(ctx, { LaunchTemplateName }));
    }
    const byName = (input.Filters ?? []).filter((f) => f.Name === 'launch-template-name');
    const others = (input.Filters ?? []).filter((f) => f.Name !== 'launch-template-name');
    return {
      LaunchTemplates: found
        .filter((t) => byName.every((f) => (f.Values ?? []).includes(t.attrs.name)))
        .filter((t) => matches(t, others, ctx.now))
        .map(templateView),
    };
  },

  DescribeLaunchTemplateVersions(ctx, input) {
    const t = launchTemplateOf(ctx, input);
    const versions = input.Versions?.length ? input.Versions.map((v) => versionOf(t, v)) : [...versionsOf(t)].reverse();
    return { LaunchTemplateVersions: versions.map((v) => versionView(t, v)) };
  },

  DeleteLaunchTemplate(ctx, input) {
    const t = launchTemplateOf(ctx, input);
    delete ctx.world.ec2[t.id];
    return { LaunchTemplate: templateView(t) };
  },
};

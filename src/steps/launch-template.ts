import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { _InstanceType, EC2, LaunchTemplate, RequestLaunchTemplateData, ResponseLaunchTemplateData } from '@aws-sdk/client-ec2';
import { AWS_MINUTES } from '../aws/durations.js';
import { errorCode, unlessNotFound } from '../aws/errors.js';
import { belongsTo, resourceTags } from '../aws/tags.js';
import { defineStep, type StepContext } from '../engine/step.js';
import { LAUNCH_TEMPLATE, discoverOurs, ec2Seen, findOurs, tagSpec } from './ec2-common.js';
import { factsFromSteps, railsNodeInput } from '../gitlab/node-inputs.js';
import { renderRailsUserData } from '../gitlab/user-data.js';
import { gitlabAmi } from './gitlab-ami.js';
import { iamRole } from './iam-role.js';
import { keyPair } from './key-pair.js';
import { machineImages } from './machine-images.js';
import { guideNames } from './names.js';
import { ownership } from './ownership.js';
import { secrets } from './secrets.js';
import { securityGroups } from './security-groups.js';
import { elasticache } from './elasticache.js';
import { gitaly } from './gitaly.js';
import { loadBalancer } from './load-balancer.js';
import { rdsPostgres } from './rds-postgres.js';
import { s3Buckets } from './s3-buckets.js';
import { vpc } from './vpc.js';
import { encodeUserData } from '../gitlab/cloud-init.js';

/**
 * The step whose instances these are: the group launches them, and its teardown terminates them,
 * so their tags name it (a string here: the group's step needs this one, not the other way round).
 */
export const GROUP_STEP = 'auto-scaling-group';

/**
 * What the template is made of, from the steps it needs. Every GitLab node the group launches gets
 * the baked image, its own configuration as user-data (the clone's gitlab.rb: the template is the
 * one source of truth), IMDSv2 only, an encrypted root volume, no public IP, the GitLab security
 * group and the instance profile.
 */
export interface NodeLaunch {
  imageId: string;
  rootDeviceName: string;
  instanceType: string;
  keyName: string;
  instanceProfileArn: string;
  securityGroupId: string;
  userData: string;
}

function templateData(deployment: string, node: NodeLaunch): RequestLaunchTemplateData {
  const nodeTags = resourceTags(deployment, GROUP_STEP, guideNames(deployment).gitlabNode);
  return {
    ImageId: node.imageId,
    InstanceType: node.instanceType as _InstanceType,
    KeyName: node.keyName,
    IamInstanceProfile: { Arn: node.instanceProfileArn },
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
    BlockDeviceMappings: [{ DeviceName: node.rootDeviceName, Ebs: { Encrypted: true, VolumeType: 'gp3', DeleteOnTermination: true } }],
    // The interface carries the group (a template naming interfaces takes no top-level groups);
    // the subnet comes from the Auto Scaling group.
    NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: false, DeleteOnTermination: true, Groups: [node.securityGroupId] }],
    TagSpecifications: [
      { ResourceType: 'instance', Tags: nodeTags },
      { ResourceType: 'volume', Tags: nodeTags },
    ],
    UserData: encodeUserData(node.userData),
  };
}

/** What makes two versions launch different nodes: a new image or configuration needs a new version. */
function launchDigest(data: RequestLaunchTemplateData | ResponseLaunchTemplateData): string {
  const essentials = {
    image: data.ImageId,
    type: data.InstanceType,
    key: data.KeyName,
    profile: data.IamInstanceProfile?.Arn,
    groups: data.NetworkInterfaces?.[0]?.Groups,
    userData: data.UserData,
  };
  return createHash('sha256').update(JSON.stringify(essentials)).digest('hex').slice(0, 16);
}

export async function describeTemplate(ec2: EC2, name: string): Promise<LaunchTemplate | undefined> {
  return (await unlessNotFound(() => ec2.describeLaunchTemplates({ LaunchTemplateNames: [name] })))?.LaunchTemplates?.[0];
}

/** The template of our name and tag, made if missing; one of our name that is not ours stops the step. */
async function ensureTemplate(ctx: StepContext, ec2: EC2, data: RequestLaunchTemplateData): Promise<LaunchTemplate> {
  const name = guideNames(ctx.deployment).launchTemplate;
  const mine = (await findOurs(ctx, LAUNCH_TEMPLATE, name))[0];
  if (mine) return mine;
  const refuse = () => {
    throw new Error(
      `launch template ${name} exists and is not this deployment's; delete or rename it, or use another --deployment, then resume`,
    );
  };
  const existing = await describeTemplate(ec2, name);
  if (existing) return belongsTo(existing.Tags, ctx.deployment) ? existing : refuse();
  try {
    return (
      await ec2.createLaunchTemplate({
        LaunchTemplateName: name,
        ClientToken: ctx.token('launch-template'),
        VersionDescription: `image ${data.ImageId}`,
        LaunchTemplateData: data,
        TagSpecifications: tagSpec(ctx, 'launch-template', name),
      })
    ).LaunchTemplate!;
  } catch (err) {
    if (errorCode(err) !== 'InvalidLaunchTemplateName.AlreadyExistsException') throw err;
    const raced = await describeTemplate(ec2, name);
    return raced && belongsTo(raced.Tags, ctx.deployment) ? raced : refuse();
  }
}

/**
 * The template's default version launches `data`: a new image (or configuration) on a resume
 * becomes a new version, made the default, which the group then names.
 */
async function ensureDefaultVersion(
  ctx: StepContext,
  ec2: EC2,
  template: LaunchTemplate,
  data: RequestLaunchTemplateData,
): Promise<string> {
  const templateId = template.LaunchTemplateId!;
  const current = (await ec2.describeLaunchTemplateVersions({ LaunchTemplateId: templateId, Versions: ['$Default'] }))
    .LaunchTemplateVersions?.[0];
  const wanted = launchDigest(data);
  if (current && launchDigest(current.LaunchTemplateData ?? {}) === wanted) return String(current.VersionNumber);
  ctx.progress(`launch template ${template.LaunchTemplateName}: a new version for image ${data.ImageId}`);
  // One token per content: a crash before the default moved replays this version, not a second one.
  const version = (
    await ec2.createLaunchTemplateVersion({
      LaunchTemplateId: templateId,
      ClientToken: ctx.token(`version-${wanted}`),
      VersionDescription: `image ${data.ImageId}`,
      LaunchTemplateData: data,
    })
  ).LaunchTemplateVersion!;
  await ec2.modifyLaunchTemplate({ LaunchTemplateId: templateId, DefaultVersion: String(version.VersionNumber) });
  return String(version.VersionNumber);
}

/**
 * Guide: "Create a launch template" `gitlab-launch-template`: what the Auto Scaling group launches,
 * from the custom AMI.
 */
export const launchTemplate = defineStep({
  id: 'launch-template',
  title: 'Launch template',
  needs: [
    machineImages,
    gitlabAmi,
    keyPair,
    vpc,
    securityGroups,
    iamRole,
    secrets,
    s3Buckets,
    loadBalancer,
    rdsPostgres,
    elasticache,
    gitaly,
  ],
  minutes: AWS_MINUTES.launchTemplate.create,
  outputs: z.object({
    launchTemplateId: z.string(),
    name: z.string(),
    /** The default version, the one the group launches: it names the image below. */
    version: z.string(),
    imageId: z.string(),
  }),
  resources: (config) => [{ type: LAUNCH_TEMPLATE.type, name: guideNames(config.deployment).launchTemplate }],

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const ami = ctx.output('gitlab-ami');
    const data = templateData(ctx.deployment, {
      imageId: ami.imageId,
      rootDeviceName: ami.rootDeviceName,
      instanceType: ctx.config.gitlab.instanceType,
      keyName: ctx.output('key-pair').keyName,
      instanceProfileArn: ctx.output('iam-role').instanceProfileArn,
      securityGroupId: ctx.output('security-groups').groupIds.loadbalancer,
      // The clone's own configuration: every node the group launches is configured by the
      // template, so a changed fact (a new database address) is a new version, not a stale image.
      userData: renderRailsUserData(railsNodeInput(ctx.config, 'clone', factsFromSteps(ctx))),
    });
    const template = await ensureTemplate(ctx, ec2, data);
    await ctx.record({ type: LAUNCH_TEMPLATE.type, id: template.LaunchTemplateId!, name: template.LaunchTemplateName! });
    const version = await ensureDefaultVersion(ctx, ec2, template, data);
    return { launchTemplateId: template.LaunchTemplateId!, name: template.LaunchTemplateName!, version, imageId: data.ImageId! };
  },

  async verify(ctx, outputs) {
    const found = (await findOurs(ctx, LAUNCH_TEMPLATE, outputs.name))[0];
    return found?.LaunchTemplateId === outputs.launchTemplateId && String(found.DefaultVersionNumber) === outputs.version;
  },

  discover: discoverOurs(LAUNCH_TEMPLATE),

  async destroy(ctx, resources) {
    const ec2 = await ctx.aws.ec2();
    const owner = ownership(ctx);
    for (const ref of resources.filter((r) => r.type === LAUNCH_TEMPLATE.type)) {
      if (!(await owner.ours(ref, () => ec2Seen(ctx, LAUNCH_TEMPLATE, ref.id)))) continue;
      await unlessNotFound(() => ec2.deleteLaunchTemplate({ LaunchTemplateId: ref.id }));
      await ctx.forget(ref);
    }
    return owner.result();
  },
});

import { z } from 'zod';
import type { EC2, Image } from '@aws-sdk/client-ec2';
import type { SSM } from '@aws-sdk/client-ssm';
import { isKind } from '../aws/errors.js';
import { GITLAB_EDITIONS, GITLAB_MAJORS, type GitlabEdition } from '../config/compute.js';
import type { InstallConfig } from '../config/schema.js';
import { defineStep } from '../engine/step.js';

/** GitLab's publisher account for the official AMIs (gitlab-omnibus.md). */
export const GITLAB_AMI_OWNER = '782774275127';
/** Canonical's public parameter for the current Ubuntu 24.04 LTS AMI of the region (docs/compute-contract.md). */
export const UBUNTU_PARAMETER = '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id';

/** `GitLab EE 19.5.1`: x86 only (ARM images end in ` (ARM64)`). */
const GITLAB_AMI_NAME = /^GitLab (EE|CE) (\d+)\.(\d+)\.(\d+)$/;

const image = z.object({
  imageId: z.string(),
  name: z.string(),
  rootDeviceName: z.string(),
  /** The root volume's size as the image declares it (GiB): what an instance launched from it gets unless told otherwise. Absent in states recorded before it was kept. */
  rootSizeGib: z.number().optional(),
});
export type MachineImage = z.output<typeof image>;
const gitlabImage = image.extend({ edition: z.enum(GITLAB_EDITIONS), version: z.string() });
export type GitlabImage = z.output<typeof gitlabImage>;

/** The machine-images outputs: what every instance of the install boots from, fixed once recorded. */
export const machineImagesOutputs = z.object({ gitlab: gitlabImage, bastion: image, gitaly: image });
export type MachineImages = z.output<typeof machineImagesOutputs>;

/** An answer AWS refuses (a version the region does not offer, an AMI that is not there or not GitLab's). */
export class ImageRefusal extends Error {
  override name = 'ImageRefusal';
  constructor(
    readonly refusal: string,
    readonly fix: string,
  ) {
    super(`${refusal}; ${fix}`);
  }
}

/** A GitLab release as the AMI's name spells it, or undefined for any other name. */
export function gitlabRelease(name: string | undefined): { edition: GitlabEdition; version: string; parts: number[] } | undefined {
  const match = GITLAB_AMI_NAME.exec(name ?? '');
  if (!match) return undefined;
  const parts = match.slice(2).map(Number);
  return { edition: match[1]!.toLowerCase() as GitlabEdition, version: parts.join('.'), parts };
}

/** Does `version` (19.5.1) answer `wanted` (19, 19.5, 19.5.1, or undefined for any supported)? */
function matches(version: string, wanted: string | undefined): boolean {
  if (wanted === undefined) return (GITLAB_MAJORS as readonly string[]).includes(version.split('.')[0]!);
  return version === wanted || version.startsWith(`${wanted}.`);
}

const byVersion = (a: { parts: number[] }, b: { parts: number[] }) =>
  a.parts[0]! - b.parts[0]! || a.parts[1]! - b.parts[1]! || a.parts[2]! - b.parts[2]!;

/**
 * The official image for the wanted release among `images` (what DescribeImages listed): the
 * newest patch of a minor, the newest of a major, or the newest supported, by the parsed version
 * (a string sort puts 18.9 after 18.10; CreationDate is wrong for late patches of old minors).
 */
export function newestGitlabImage(images: readonly Image[], edition: GitlabEdition, wanted: string | undefined): Image | undefined {
  return images
    .filter((i) => i.State === 'available' && i.Architecture === 'x86_64')
    .map((i) => ({ image: i, release: gitlabRelease(i.Name) }))
    .filter((c) => c.release?.edition === edition && matches(c.release.version, wanted))
    .sort((a, b) => byVersion(a.release!, b.release!))
    .at(-1)?.image;
}

/** The versions the region's official images offer, newest first (for the refusal). */
export function offeredVersions(images: readonly Image[], edition: GitlabEdition): string[] {
  const releases = images
    .filter((i) => i.State === 'available' && i.Architecture === 'x86_64')
    .map((i) => gitlabRelease(i.Name))
    .filter((r): r is NonNullable<typeof r> => r?.edition === edition && matches(r.version, undefined));
  return [
    ...new Map(
      releases
        .sort(byVersion)
        .reverse()
        .map((r) => [r.version, r]),
    ).keys(),
  ];
}

async function describeImage(ec2: EC2, imageId: string): Promise<Image | undefined> {
  try {
    return (await ec2.describeImages({ ImageIds: [imageId] })).Images?.[0];
  } catch (err) {
    // EC2 answers an unknown or malformed ID with InvalidAMIID.NotFound / .Malformed.
    if (isKind(err, 'not-found') || /InvalidAMIID/.test((err as Error).name)) return undefined;
    throw err;
  }
}

function asImage(found: Image): MachineImage {
  const rootDeviceName = found.RootDeviceName ?? '/dev/sda1';
  // DescribeImages' mapping of the root device: its VolumeSize is the snapshot's size, the least a launch may ask.
  const rootSizeGib = found.BlockDeviceMappings?.find((m) => m.DeviceName === rootDeviceName)?.Ebs?.VolumeSize;
  return {
    imageId: found.ImageId!,
    name: found.Name ?? found.ImageId!,
    rootDeviceName,
    ...(rootSizeGib !== undefined ? { rootSizeGib } : {}),
  };
}

/** The region's official GitLab AMIs of the edition (x86, available): the lookup and the wizard's version list. */
export async function officialGitlabImages(ec2: Pick<EC2, 'describeImages'>, edition: GitlabEdition): Promise<Image[]> {
  const listed = await ec2.describeImages({
    Owners: [GITLAB_AMI_OWNER],
    Filters: [
      { Name: 'name', Values: [`GitLab ${edition.toUpperCase()} *`] },
      { Name: 'architecture', Values: ['x86_64'] },
      { Name: 'state', Values: ['available'] },
    ],
  });
  return listed.Images ?? [];
}

/** The GitLab image the answers choose: gitlab.amiId's, else the newest official one of the wanted release. */
export async function gitlabImageFor(ec2: EC2, config: InstallConfig): Promise<GitlabImage> {
  const { edition, version, amiId } = config.gitlab;
  const label = edition.toUpperCase();
  if (amiId) {
    const found = await describeImage(ec2, amiId);
    if (!found)
      throw new ImageRefusal(
        `gitlab.amiId ${amiId} does not exist in ${config.region}`,
        'give an AMI ID of this region, or leave gitlab.amiId out to use the official GitLab AMI',
      );
    const release = gitlabRelease(found.Name);
    if (!release || release.edition !== edition || !matches(release.version, version)) {
      throw new ImageRefusal(
        `gitlab.amiId ${amiId} is '${found.Name ?? 'unnamed'}', not a GitLab ${label} ${version ?? ''} image`.replace(/ +image/, ' image'),
        `give an image named 'GitLab ${label} x.y.z' (the official AMI or a copy of it), or leave gitlab.amiId out`,
      );
    }
    return { ...asImage(found), edition, version: release.version };
  }
  const listed = await officialGitlabImages(ec2, edition);
  const found = newestGitlabImage(listed, edition, version);
  if (!found) {
    // The wanted major's releases when it has some (what the operator most likely meant), else all.
    const all = offeredVersions(listed, edition);
    const major = all.filter((v) => version !== undefined && v.split('.')[0] === version.split('.')[0]);
    const offered = major.length ? major : all;
    throw new ImageRefusal(
      `the official GitLab ${label} AMIs in ${config.region} offer no ${version ? `version ${version}` : `${GITLAB_MAJORS.join('.x or ')}.x release`} (they offer ${offered.slice(0, 12).join(', ') || 'none'}${offered.length > 12 ? ', ...' : ''})`,
      'set gitlab.version to one of those, or leave it out for the newest',
    );
  }
  return { ...asImage(found), edition, version: gitlabRelease(found.Name)!.version };
}

async function ubuntuImageFor(ec2: EC2, ssm: SSM, key: 'bastion' | 'gitaly', config: InstallConfig): Promise<MachineImage> {
  const configured = config[key].amiId;
  const imageId = configured ?? (await ssm.getParameter({ Name: UBUNTU_PARAMETER })).Parameter?.Value;
  if (!imageId) throw new Error(`SSM parameter ${UBUNTU_PARAMETER} holds no AMI ID in ${config.region}`);
  const found = await describeImage(ec2, imageId);
  if (!found) {
    if (configured)
      throw new ImageRefusal(
        `${key}.amiId ${configured} does not exist in ${config.region}`,
        `give an AMI ID of this region, or leave ${key}.amiId out for Ubuntu 24.04`,
      );
    throw new Error(`the Ubuntu 24.04 AMI ${imageId} that ${UBUNTU_PARAMETER} names cannot be described in ${config.region}`);
  }
  return asImage(found);
}

/**
 * Every image the install boots from, as AWS answers for these answers now: the official GitLab
 * AMI and Ubuntu 24.04 (or the configured IDs). Install's present stage asks this before
 * anything is created; the step asks it once and records the answer.
 */
export async function lookUpImages(ec2: EC2, ssm: SSM, config: InstallConfig): Promise<MachineImages> {
  const gitlab = await gitlabImageFor(ec2, config);
  const bastion = await ubuntuImageFor(ec2, ssm, 'bastion', config);
  const gitaly = config.gitaly.amiId === config.bastion.amiId ? bastion : await ubuntuImageFor(ec2, ssm, 'gitaly', config);
  return { gitlab, bastion, gitaly };
}

/**
 * Guide: "Install GitLab and create custom AMI" starts from the official GitLab AMI, the bastions
 * and Gitaly from Ubuntu LTS. Nothing is made: the images are looked up once and the outputs keep
 * them, so a resume (or a later scale-out) installs the release the install began with.
 */
export const machineImages = defineStep({
  id: 'machine-images',
  title: 'GitLab and Ubuntu machine images',
  needs: [],
  minutes: 0.01,
  outputs: machineImagesOutputs,
  resources: () => [],
  async create(ctx) {
    const images = await lookUpImages(await ctx.aws.ec2(), await ctx.aws.ssm(), ctx.config);
    ctx.progress(
      `GitLab ${images.gitlab.edition.toUpperCase()} ${images.gitlab.version}: ${images.gitlab.imageId}; Ubuntu: ${images.bastion.imageId}`,
    );
    return images;
  },
  async discover() {
    return [];
  },
  async destroy() {},
});

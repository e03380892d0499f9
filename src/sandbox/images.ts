import { createHash } from 'node:crypto';
import type { EC2, Image, Snapshot } from '@aws-sdk/client-ec2';
import { AWS_MINUTES } from '../aws/durations.js';
import { IMAGE_ROOT_GIB } from '../pricing/cost.js';
import { awsError, tagList, type OperationContext, type SdkOperations } from './core.js';
import { all, byId, create, put, state, type Ec2Resource } from './ec2.js';
import { tagsOfType } from './instances.js';
import { wildcard } from './reach.js';
import { bakePrep, type BakePrep } from './user-data-script.js';

/**
 * Machine images: the public ones every region has had for long (GitLab's official AMIs,
 * Canonical's Ubuntu 24.04), and the account's own, baked from an instance with CreateImage,
 * each with a snapshot per volume.
 */

export const GITLAB_OWNER = '782774275127';
export const CANONICAL_OWNER = '099720109477';
export const UBUNTU_PARAMETER = '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id';

/** GitLab releases with official AMIs, and when each was published (a late patch of an old minor comes after newer minors). */
const GITLAB_RELEASES: Array<[string, string]> = [
  ['18.9.4', '2026-03-11'],
  ['18.10.3', '2026-04-08'],
  ['18.11.0', '2026-04-16'],
  ['18.11.1', '2026-04-29'],
  ['18.11.2', '2026-05-13'],
  ['19.0.2', '2026-06-03'],
  ['19.1.3', '2026-07-08'],
  ['19.2.0', '2026-07-16'],
  ['19.2.1', '2026-07-29'],
  ['19.3.2', '2026-08-26'],
  ['19.4.0', '2026-09-17'],
  ['19.4.1', '2026-09-30'],
  ['18.11.3', '2026-10-14'],
  ['19.5.0', '2026-10-15'],
  ['19.5.1', '2026-10-28'],
];
const UBUNTU_BUILDS = ['20260812', '20261015'];

/** A public image as DescribeImages shows it, the same in every region apart from its ID. */
export interface PublicImage {
  id: string;
  name: string;
  ownerId: string;
  architecture: 'x86_64' | 'arm64';
  creationDate: string;
  description: string;
  snapshotId: string;
  size: number;
  /** The GitLab release on it, for an official GitLab AMI. */
  gitlab?: { edition: 'ee' | 'ce'; version: string };
}

function hexOf(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Each region's copy of a public image has an ID of its own, fixed for the region. */
export function publicImages(region: string): PublicImage[] {
  const images: PublicImage[] = [];
  const add = (name: string, ownerId: string, architecture: PublicImage['architecture'], date: string, extra: Partial<PublicImage>) =>
    images.push({
      id: `ami-${hexOf(`${region}:${name}`, 17)}`,
      name,
      ownerId,
      architecture,
      creationDate: `${date}T12:00:00.000Z`,
      description: extra.description ?? name,
      snapshotId: `snap-${hexOf(`${region}:${name}:snap`, 17)}`,
      // The root sizes the real images declare (GitLab's packer templates: 20 GiB; Ubuntu: 8 GiB).
      size: extra.gitlab ? IMAGE_ROOT_GIB.gitlab : IMAGE_ROOT_GIB.ubuntu,
      ...extra,
    });
  for (const [version, date] of GITLAB_RELEASES) {
    for (const edition of ['ee', 'ce'] as const) {
      const base = `GitLab ${edition.toUpperCase()} ${version}`;
      add(base, GITLAB_OWNER, 'x86_64', date, { gitlab: { edition, version } });
      add(`${base} (ARM64)`, GITLAB_OWNER, 'arm64', date, { gitlab: { edition, version } });
    }
  }
  for (const build of UBUNTU_BUILDS) {
    const date = `${build.slice(0, 4)}-${build.slice(4, 6)}-${build.slice(6)}`;
    for (const [arch, word] of [
      ['x86_64', 'amd64'],
      ['arm64', 'arm64'],
    ] as const) {
      add(`ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${word}-server-${build}`, CANONICAL_OWNER, arch, date, {
        description: `Canonical, Ubuntu, 24.04, ${word} noble image`,
      });
    }
  }
  return images;
}

/** What Canonical's public SSM parameter answers in a region: the newest Ubuntu 24.04 amd64 image. */
export function publicParameterValue(region: string, name: string): string | undefined {
  if (name !== UBUNTU_PARAMETER) return undefined;
  const build = UBUNTU_BUILDS[UBUNTU_BUILDS.length - 1]!;
  return publicImages(region).find((i) => i.name.endsWith(`amd64-server-${build}`))?.id;
}

/** What an instance is launched from: a public image or one of the account's, available. */
export interface LaunchImage {
  id: string;
  rootDeviceName: string;
  rootSnapshotId: string;
  rootSize: number;
  rootEncrypted: boolean;
  gitlab?: { edition: 'ee' | 'ce'; version: string };
  /** An image baked by this account: what its source instance ran. */
  baked?: { sourceInstanceId: string; prep: BakePrep };
}

export function launchImage(ctx: OperationContext, id: string | undefined): LaunchImage {
  if (!id || !/^ami-[0-9a-f]{8,17}$/.test(id)) throw awsError('InvalidAMIID.Malformed', `Invalid id: "${id}"`);
  const pub = publicImages(ctx.region).find((i) => i.id === id);
  if (pub)
    return {
      id,
      rootDeviceName: '/dev/sda1',
      rootSnapshotId: pub.snapshotId,
      rootSize: pub.size,
      rootEncrypted: false,
      gitlab: pub.gitlab,
    };
  const own = ctx.world.ec2[id];
  if (!own || own.kind !== 'image' || own.region !== ctx.region || own.goneAt !== undefined) {
    throw awsError('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`);
  }
  if (state(own, ctx.now) !== 'available') throw awsError('InvalidAMIID.Unavailable', `The image id '[${id}]' is not available`);
  const root = (own.attrs.blockDevices as ImageDevice[])[0]!;
  return {
    id,
    rootDeviceName: root.deviceName,
    rootSnapshotId: root.snapshotId,
    rootSize: root.size,
    rootEncrypted: root.encrypted,
    gitlab: own.attrs.gitlab,
    baked: { sourceInstanceId: own.attrs.sourceInstanceId, prep: own.attrs.prep },
  };
}

interface ImageDevice {
  deviceName: string;
  snapshotId: string;
  size: number;
  volumeType: string;
  iops?: number;
  encrypted: boolean;
}

function publicView(i: PublicImage): Image {
  return {
    ImageId: i.id,
    Name: i.name,
    Description: i.description,
    OwnerId: i.ownerId,
    Public: true,
    State: 'available',
    Architecture: i.architecture,
    CreationDate: i.creationDate,
    ImageType: 'machine',
    RootDeviceType: 'ebs',
    RootDeviceName: '/dev/sda1',
    VirtualizationType: 'hvm',
    EnaSupport: true,
    BlockDeviceMappings: [
      {
        DeviceName: '/dev/sda1',
        Ebs: { SnapshotId: i.snapshotId, VolumeSize: i.size, VolumeType: 'gp3', Encrypted: false, DeleteOnTermination: true },
      },
    ],
    Tags: [],
  };
}

function ownView(ctx: OperationContext, r: Ec2Resource): Image {
  return {
    ImageId: r.id,
    Name: r.attrs.name,
    Description: r.attrs.description,
    OwnerId: ctx.world.accountId,
    Public: false,
    State: state(r, ctx.now) as Image['State'],
    Architecture: r.attrs.architecture,
    CreationDate: new Date(r.createdAt).toISOString(),
    ImageType: 'machine',
    RootDeviceType: 'ebs',
    RootDeviceName: (r.attrs.blockDevices as ImageDevice[])[0]?.deviceName,
    VirtualizationType: 'hvm',
    EnaSupport: true,
    BlockDeviceMappings: (r.attrs.blockDevices as ImageDevice[]).map((d) => ({
      DeviceName: d.deviceName,
      Ebs: {
        SnapshotId: d.snapshotId,
        VolumeSize: d.size,
        VolumeType: d.volumeType as 'gp3',
        Iops: d.iops,
        Encrypted: d.encrypted,
        DeleteOnTermination: true,
      },
    })),
    Tags: tagList(r.tags),
  };
}

function imageMatches(view: Image, filters: Array<{ Name?: string; Values?: string[] }> | undefined): boolean {
  return (filters ?? []).every(({ Name = '', Values = [] }) => {
    const tags = Object.fromEntries((view.Tags ?? []).map((t) => [t.Key, t.Value]));
    const field: Record<string, unknown> = {
      name: view.Name,
      'image-id': view.ImageId,
      'owner-id': view.OwnerId,
      architecture: view.Architecture,
      state: view.State,
      'is-public': String(view.Public),
      'root-device-type': view.RootDeviceType,
      description: view.Description,
    };
    let value: unknown;
    if (Name.startsWith('tag:')) value = tags[Name.slice(4)];
    else if (Name === 'tag-key') return Object.keys(tags).some((k) => Values.includes(k));
    else if (Name in field) value = field[Name];
    else throw awsError('InvalidParameterValue', `The filter '${Name}' is invalid`);
    return typeof value === 'string' && Values.some((v) => wildcard(v, false).test(value as string));
  });
}

const OWNER_ALIASES: Record<string, (ctx: OperationContext, ownerId: string) => boolean> = {
  self: (ctx, ownerId) => ownerId === ctx.world.accountId,
  amazon: () => false,
  'aws-marketplace': () => false,
};

function snapshotView(ctx: OperationContext, r: Ec2Resource): Snapshot {
  return {
    SnapshotId: r.id,
    VolumeId: r.attrs.volumeId,
    VolumeSize: r.attrs.size,
    Encrypted: r.attrs.encrypted,
    Description: r.attrs.description,
    OwnerId: ctx.world.accountId,
    StartTime: new Date(r.createdAt),
    State: state(r, ctx.now) === 'available' ? 'completed' : 'pending',
    Progress: state(r, ctx.now) === 'available' ? '100%' : '0%',
    Tags: tagList(r.tags),
  };
}

export const images: SdkOperations<EC2> = {
  DescribeImages(ctx, input) {
    const own = all(ctx, 'image').filter((r) => r.goneAt === undefined);
    let views: Image[] = [...publicImages(ctx.region).map(publicView), ...own.map((r) => ownView(ctx, r))];
    if (input.ImageIds?.length) {
      for (const id of input.ImageIds) {
        if (!/^ami-[0-9a-f]{8,17}$/.test(id)) throw awsError('InvalidAMIID.Malformed', `Invalid id: "${id}"`);
        if (!views.some((v) => v.ImageId === id)) throw awsError('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`);
      }
      views = views.filter((v) => input.ImageIds!.includes(v.ImageId!));
    }
    if (input.Owners?.length) {
      views = views.filter((v) => input.Owners!.some((o) => (OWNER_ALIASES[o] ? OWNER_ALIASES[o](ctx, v.OwnerId!) : o === v.OwnerId)));
    }
    return { Images: views.filter((v) => imageMatches(v, input.Filters)) };
  },

  CreateImage(ctx, input) {
    const instance = byId(ctx, 'instance', input.InstanceId);
    const current = state(instance, ctx.now);
    if (current !== 'running' && current !== 'stopped') {
      throw awsError('IncorrectInstanceState', `The instance '${instance.id}' is not in a state from which it can be imaged.`);
    }
    const name = input.Name ?? '';
    if (!/^[A-Za-z0-9()[\]./\-'@_ ]{3,128}$/.test(name)) {
      throw awsError(
        'InvalidAMIName.Malformed',
        `AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'`,
      );
    }
    if (all(ctx, 'image').some((r) => r.goneAt === undefined && r.attrs.name === name)) {
      throw awsError(
        'InvalidAMIName.Duplicate',
        `AMI name ${name} is already in use by AMI ${all(ctx, 'image').find((r) => r.attrs.name === name)!.id}`,
      );
    }
    const imageTags = tagsOfType(input.TagSpecifications, 'image', ['image', 'snapshot']);
    const snapshotTags = tagsOfType(input.TagSpecifications, 'snapshot', ['image', 'snapshot']);
    const image = create(ctx, 'image', 'ami', imageTags, AWS_MINUTES.ami.create, {
      name,
      description: input.Description,
      sourceInstanceId: instance.id,
      architecture: 'x86_64',
      userData: instance.attrs.userData,
      prep: bakePrep(instance.attrs.userData as string | undefined),
      gitlab: instance.attrs.gitlab,
      noReboot: Boolean(input.NoReboot),
    });
    const volumes = ((instance.attrs.volumes as Array<{ deviceName: string; volumeId: string }>) ?? []).map(
      (v) => ctx.world.ec2[v.volumeId]!,
    );
    image.attrs.blockDevices = volumes.map((volume): ImageDevice => {
      const snapshot = put(ctx, 'snapshot', 'snap', { ...snapshotTags }, AWS_MINUTES.ami.create, {
        volumeId: volume.id,
        size: volume.attrs.size,
        encrypted: volume.attrs.encrypted,
        imageId: image.id,
        description: `Created by CreateImage(${instance.id}) for ${image.id}`,
      });
      return {
        deviceName: volume.attrs.deviceName,
        snapshotId: snapshot.id,
        size: volume.attrs.size,
        volumeType: volume.attrs.volumeType,
        iops: volume.attrs.iops,
        encrypted: volume.attrs.encrypted,
      };
    });
    return { ImageId: image.id };
  },

  DeregisterImage(ctx, input) {
    const image = byId(ctx, 'image', input.ImageId);
    if (image.goneAt !== undefined) throw awsError('InvalidAMIID.Unavailable', `AMI ${image.id} is already deregistered`);
    delete ctx.world.ec2[image.id];
    return { Return: true };
  },

  DescribeSnapshots(ctx, input) {
    let found = all(ctx, 'snapshot');
    if (input.SnapshotIds?.length) found = input.SnapshotIds.map((id) => byId(ctx, 'snapshot', id));
    if (input.OwnerIds?.length) {
      found = found.filter(() => input.OwnerIds!.some((o) => o === 'self' || o === ctx.world.accountId));
    }
    const views = found.map((r) => snapshotView(ctx, r));
    return {
      Snapshots: views.filter((v) =>
        (input.Filters ?? []).every(({ Name = '', Values = [] }) => {
          if (Name.startsWith('tag:')) return v.Tags?.some((t) => t.Key === Name.slice(4) && Values.includes(t.Value ?? ''));
          const field: Record<string, unknown> = {
            'snapshot-id': v.SnapshotId,
            'volume-id': v.VolumeId,
            status: v.State,
            description: v.Description,
          };
          if (!(Name in field)) throw awsError('InvalidParameterValue', `The filter '${Name}' is invalid`);
          return Values.includes(String(field[Name]));
        }),
      ),
    };
  },

  DeleteSnapshot(ctx, input) {
    const snapshot = byId(ctx, 'snapshot', input.SnapshotId);
    const user = all(ctx, 'image').find((i) =>
      (i.attrs.blockDevices as ImageDevice[] | undefined)?.some((d) => d.snapshotId === snapshot.id),
    );
    if (user) {
      throw awsError('InvalidSnapshot.InUse', `The snapshot ${snapshot.id} is currently in use by ${user.id}`);
    }
    delete ctx.world.ec2[snapshot.id];
    return {};
  },
};

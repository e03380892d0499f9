import { z } from 'zod';
import type { EC2, Image } from '@aws-sdk/client-ec2';
import { AWS_MINUTES } from '../aws/durations.js';
import { unlessNotFound } from '../aws/errors.js';
import { paceFor } from '../aws/poll.js';
import { belongsTo } from '../aws/tags.js';
import { defineStep, type ResourceRef, type StepContext } from '../engine/step.js';
// The tag naming the instance an image was baked from: a resume adopts the image of the same base
// instance, and the base-instance step's verify accepts its instance gone once this image exists.
import { TAG_BASE_INSTANCE, baseInstance } from './base-instance.js';
import { IMAGE, SNAPSHOT, deleteWhenFree, discoverOurs, ec2Seen, findOurs, whenVisible } from './ec2-common.js';
import { machineImages } from './machine-images.js';
import { guideNames } from './names.js';
import { ownership } from './ownership.js';

/** States an image never leaves for `available`: such an image is no bake to adopt. */
const DEAD = ['failed', 'invalid', 'error', 'deregistered', 'disabled'];

/** When the image was baked, in UTC to the minute (20261201T0949Z): names stay unique and sortable. */
export function bakeStamp(now: number): string {
  return `${new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 13)}Z`;
}

async function describeImage(ec2: EC2, imageId: string): Promise<Image | undefined> {
  return (await ec2.describeImages({ ImageIds: [imageId] })).Images?.[0];
}

/** Waits until the image is available; a failed bake stops the step with AWS's reason. */
async function available(ctx: StepContext, ec2: EC2, imageId: string): Promise<Image> {
  return ctx.poll(`image ${imageId} to become available`, paceFor(AWS_MINUTES.ami.create), async () => {
    const image = await whenVisible(ctx, `image ${imageId}`, async () => {
      const found = await describeImage(ec2, imageId);
      if (!found) throw Object.assign(new Error(`image ${imageId} not found`), { name: 'InvalidAMIID.NotFound' });
      return found;
    });
    if (DEAD.includes(image.State ?? '')) {
      throw new Error(
        `image ${imageId} is ${image.State}: ${image.StateReason?.Message ?? 'no reason given'}; resume to bake a new one (teardown removes this one)`,
      );
    }
    return image.State === 'available' ? { done: true, value: image } : { done: false, seen: String(image.State) };
  });
}

function snapshotIds(image: Image): string[] {
  return (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
}

/**
 * Deregisters these images, then deletes their snapshots (those listed, and any a crash kept out
 * of the state file), each only once its tags say ours at that moment.
 */
async function removeImages(ctx: StepContext, owner: ReturnType<typeof ownership>, resources: ResourceRef[]): Promise<void> {
  const ec2 = await ctx.aws.ec2();
  const snapshots = new Map<string, ResourceRef>(resources.filter((r) => r.type === SNAPSHOT.type).map((r) => [r.id, r]));
  // The image first: a snapshot cannot be deleted while a registered image uses it.
  for (const ref of resources.filter((r) => r.type === IMAGE.type)) {
    if (!(await owner.ours(ref, () => ec2Seen(ctx, IMAGE, ref.id)))) continue;
    const image = await unlessNotFound(() => describeImage(ec2, ref.id));
    for (const id of image ? snapshotIds(image) : []) if (!snapshots.has(id)) snapshots.set(id, { type: SNAPSHOT.type, id });
    await unlessNotFound(() => ec2.deregisterImage({ ImageId: ref.id }));
    await ctx.forget(ref);
  }
  for (const ref of snapshots.values()) {
    if (!(await owner.ours(ref, () => ec2Seen(ctx, SNAPSHOT, ref.id)))) continue;
    await deleteWhenFree(ctx, `snapshot ${ref.id}`, () => ec2.deleteSnapshot({ SnapshotId: ref.id }));
    await ctx.forget(ref);
  }
}

/**
 * Guide: "Create custom AMI": the configured base instance, already made fit to be cloned by its
 * own user-data (docs/compute-contract.md), imaged as `<dep>-gitlab-source-<edition>-<version>-<stamp>`,
 * the image and its snapshots tagged, encrypted as its root volume is.
 */
export const gitlabAmi = defineStep({
  id: 'gitlab-ami',
  title: 'Custom GitLab AMI',
  needs: [machineImages, baseInstance],
  minutes: AWS_MINUTES.ami.create,
  outputs: z.object({
    imageId: z.string(),
    name: z.string(),
    snapshotIds: z.array(z.string()),
    /** The instance it was baked from. */
    baseInstanceId: z.string(),
    /** Where the launch template puts the root volume's settings. */
    rootDeviceName: z.string(),
  }),
  // The name carries the time of the bake, known only then: the plan shows its pattern.
  resources: (config) => {
    const release = config.gitlab;
    const name = guideNames(config.deployment).image(release.edition, release.version ?? '<version>', '<yyyymmddThhmmZ>');
    return [
      { type: IMAGE.type, name },
      { type: SNAPSHOT.type, name },
    ];
  },

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const { instanceId } = ctx.output('base-instance');
    const { edition, version } = ctx.output('machine-images').gitlab;
    // CreateImage takes no ClientToken: an image of ours baked from this instance (a crash after
    // CreateImage, or a resume) is the one, unless it failed.
    const found = (await findOurs(ctx, IMAGE, undefined, { Name: `tag:${TAG_BASE_INSTANCE}`, Values: [instanceId] })).find(
      (i) => !DEAD.includes(i.State ?? ''),
    );
    let imageId = found?.ImageId;
    if (!imageId) {
      const name = guideNames(ctx.deployment).image(edition, version, bakeStamp(ctx.clock.now()));
      const tags = ctx.tags(name);
      imageId = (
        await whenVisible(ctx, `instance ${instanceId}`, () =>
          ec2.createImage({
            InstanceId: instanceId,
            Name: name,
            Description: `GitLab ${edition.toUpperCase()} ${version} configured for deployment ${ctx.deployment} (gitlab-aws)`,
            // The guide leaves the default: a reboot, so the file systems are imaged consistent.
            NoReboot: false,
            TagSpecifications: [
              { ResourceType: 'image', Tags: [...tags, { Key: TAG_BASE_INSTANCE, Value: instanceId }] },
              { ResourceType: 'snapshot', Tags: tags },
            ],
          }),
        )
      ).ImageId!;
    }
    const name = found?.Name ?? (await whenVisible(ctx, `image ${imageId}`, async () => (await describeImage(ec2, imageId))?.Name));
    await ctx.record({ type: IMAGE.type, id: imageId, ...(name ? { name } : {}) });
    const image = await available(ctx, ec2, imageId);
    const snapshots = snapshotIds(image);
    for (const id of snapshots) await ctx.record({ type: SNAPSHOT.type, id, name: image.Name! });
    // A bake of an earlier base instance (one since replaced) is superseded: the launch template
    // takes this one next, and the old one would only be left to pay for. So is a snapshot of ours
    // that no image uses any more (a teardown stopped between deregistering and deleting it).
    const superseded = (await findOurs(ctx, IMAGE)).filter((i) => i.ImageId !== imageId);
    const orphans = (await findOurs(ctx, SNAPSHOT)).filter((snapshot) => !snapshots.includes(snapshot.SnapshotId!));
    if (superseded.length || orphans.length) {
      ctx.progress(
        `removing superseded images and snapshots ${[...superseded.map((i) => i.ImageId), ...orphans.map((o) => o.SnapshotId)].join(', ')}`,
      );
      await removeImages(ctx, ownership(ctx), [
        ...superseded.map((i) => ({ type: IMAGE.type, id: i.ImageId!, name: i.Name ?? i.ImageId! })),
        ...orphans.map((o) => ({ type: SNAPSHOT.type, id: o.SnapshotId! })),
      ]);
    }
    return {
      imageId,
      name: image.Name!,
      snapshotIds: snapshots,
      baseInstanceId: instanceId,
      rootDeviceName: image.RootDeviceName ?? '/dev/sda1',
    };
  },

  async verify(ctx, outputs) {
    const image = await unlessNotFound(async () => describeImage(await ctx.aws.ec2(), outputs.imageId));
    return image?.State === 'available' && belongsTo(image.Tags, ctx.deployment);
  },

  discover: discoverOurs(IMAGE, SNAPSHOT),

  async destroy(ctx, resources) {
    const owner = ownership(ctx);
    await removeImages(ctx, owner, resources);
    return owner.result();
  },
});

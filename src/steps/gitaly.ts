import { z } from 'zod';
import { AWS_MINUTES } from '../aws/durations.js';
import { defineStep } from '../engine/step.js';
import { factsFromOutputs, gitalyNodeInput } from '../gitlab/node-inputs.js';
import { renderGitalyUserData } from '../gitlab/user-data.js';
import { iamRole } from './iam-role.js';
import { INSTANCE, ensureInstance, instanceRunning, terminateInstances } from './instances.js';
import { keyPair } from './key-pair.js';
import { machineImages } from './machine-images.js';
import { guideNames } from './names.js';
import { ownership } from './ownership.js';
import { privateRouteTables } from './private-route-tables.js';
import { secrets } from './secrets.js';
import { securityGroups } from './security-groups.js';
import { subnets } from './subnets.js';
import { vpc } from './vpc.js';
import { discoverOurs } from './ec2-common.js';

/**
 * Guide: "Gitaly": its own instance in private subnet A behind the Gitaly security group, on an
 * io1 volume (20 GiB, 1000 IOPS by default), with the instance profile so it reads its secrets
 * from SSM at boot. It installs the same GitLab release as the Rails nodes (via the NAT gateway).
 * Its readiness is judged where it matters: the base instance waits for it before reconfiguring.
 */
export const gitaly = defineStep({
  id: 'gitaly',
  title: 'Gitaly',
  needs: [machineImages, keyPair, vpc, subnets, securityGroups, iamRole, secrets, privateRouteTables],
  minutes: AWS_MINUTES.ec2Instance.create,
  outputs: z.object({ instanceId: z.string(), name: z.string(), privateIp: z.string() }),
  resources: (config) => [{ type: INSTANCE.type, name: guideNames(config.deployment).gitaly }],

  async create(ctx) {
    const name = guideNames(ctx.deployment).gitaly;
    const images = ctx.output('machine-images');
    const volume = ctx.config.gitaly;
    const instance = await ensureInstance(ctx, {
      name,
      token: 'gitaly',
      image: images.gitaly,
      instanceType: volume.instanceType,
      subnetId: ctx.output('subnets').subnets.privateA.id,
      securityGroupIds: [ctx.output('security-groups').groupIds.gitaly],
      keyName: ctx.output('key-pair').keyName,
      instanceProfileArn: ctx.output('iam-role').instanceProfileArn,
      rootVolume: { type: 'io1', sizeGib: volume.volumeSize, iops: volume.iops },
      userData: renderGitalyUserData(
        gitalyNodeInput(ctx.config, factsFromOutputs({ 'machine-images': images, vpc: ctx.output('vpc'), secrets: ctx.output('secrets') })),
      ),
    });
    return { instanceId: instance.InstanceId!, name, privateIp: instance.PrivateIpAddress! };
  },

  verify: (ctx, outputs) => instanceRunning(ctx, outputs.instanceId),

  discover: discoverOurs(INSTANCE),

  async destroy(ctx, resources) {
    const owner = ownership(ctx);
    await terminateInstances(ctx, resources, owner);
    return owner.result();
  },
});

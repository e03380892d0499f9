import { z } from 'zod';
import { defineStep } from '../engine/step.js';
import { baseInstance } from './base-instance.js';
import { machineImages } from './machine-images.js';

/** Custom GitLab AMI (not built yet: see issue "Compute and GitLab"). */
export const gitlabAmi = defineStep({
  id: 'gitlab-ami',
  title: 'Custom GitLab AMI',
  needs: [machineImages, baseInstance],
  minutes: 8,
  outputs: z.object({ imageId: z.string(), name: z.string(), snapshotIds: z.array(z.string()) }),
  resources: () => [],
  async create() {
    throw new Error('gitlab-ami: not built yet');
  },
  async discover() {
    return [];
  },
  async destroy() {},
});

import { z } from 'zod';
import { defineStep } from '../engine/step.js';

/** GitLab and Ubuntu machine images (not built yet: see issue "Compute and GitLab"). */
export const machineImages = defineStep({
  id: 'machine-images',
  title: 'GitLab and Ubuntu machine images',
  needs: [],
  minutes: 0.01,
  outputs: z.object({
    gitlab: z.object({ imageId: z.string(), name: z.string(), edition: z.enum(['ee', 'ce']), version: z.string() }),
    ubuntu: z.object({ imageId: z.string(), name: z.string() }),
  }),
  resources: () => [],
  async create() {
    throw new Error('machine-images: not built yet');
  },
  async discover() {
    return [];
  },
  async destroy() {},
});

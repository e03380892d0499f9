import { z } from 'zod';
import { defineStep } from '../engine/step.js';

/** Key pair (not built yet: see issue "Compute and GitLab"). */
export const keyPair = defineStep({
  id: 'key-pair',
  title: 'Key pair',
  needs: [],
  minutes: 0.02,
  outputs: z.object({ keyName: z.string(), keyPairId: z.string() }),
  resources: () => [],
  async create() {
    throw new Error('key-pair: not built yet');
  },
  async discover() {
    return [];
  },
  async destroy() {},
});

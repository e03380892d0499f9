import { z } from 'zod';
import { defineStep } from '../engine/step.js';
import { internetGateway } from './internet-gateway.js';
import { keyPair } from './key-pair.js';
import { machineImages } from './machine-images.js';
import { publicRouteTable } from './public-route-table.js';
import { securityGroups } from './security-groups.js';
import { subnets } from './subnets.js';

/** Bastion hosts (not built yet: see issue "Compute and GitLab"). */
export const bastionHosts = defineStep({
  id: 'bastion-hosts',
  title: 'Bastion hosts',
  needs: [machineImages, keyPair, subnets, securityGroups, internetGateway, publicRouteTable],
  minutes: 0.6,
  outputs: z.object({
    hosts: z.array(
      z.object({ zone: z.enum(['a', 'b']), name: z.string(), instanceId: z.string(), publicIp: z.string(), allocationId: z.string() }),
    ),
  }),
  resources: () => [],
  async create() {
    throw new Error('bastion-hosts: not built yet');
  },
  async discover() {
    return [];
  },
  async destroy() {},
});

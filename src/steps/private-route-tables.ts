import { z } from 'zod';
import { AWS_MINUTES } from '../aws/durations.js';
import { defineStep } from '../engine/step.js';
import { ROUTE_TABLE, discoverOurs } from './ec2-common.js';
import { natGateways } from './nat-gateways.js';
import { ZONES, guideNames } from './names.js';
import { destroyRouteTables, ensureRouteTable, isAsPlanned, type RouteTablePlan } from './route-tables.js';
import type { StepContext } from '../engine/step.js';
import { subnets } from './subnets.js';
import { vpc } from './vpc.js';

/** One table per AZ, each sending 0.0.0.0/0 to the NAT gateway of its own AZ. */
function plans(ctx: StepContext<[typeof vpc, typeof subnets, typeof natGateways]>): RouteTablePlan[] {
  const { vpcId } = ctx.output('vpc');
  const { privateSubnetIds } = ctx.output('subnets');
  const { natGatewayIds } = ctx.output('nat-gateways');
  return ZONES.map((zone, i) => ({
    name: guideNames(ctx.deployment).privateRouteTable(zone),
    key: `private-${zone}`,
    vpcId,
    target: { NatGatewayId: natGatewayIds[i]! },
    subnetIds: [privateSubnetIds[i]!],
  }));
}

/**
 * Guide: "Private Route Tables": gitlab-private-a and -b, each sending 0.0.0.0/0 to the NAT
 * gateway in its own AZ and associated with that AZ's private subnet.
 */
export const privateRouteTables = defineStep({
  id: 'private-route-tables',
  title: 'Private route tables',
  needs: [vpc, subnets, natGateways],
  minutes: 3 * AWS_MINUTES.network.create,
  outputs: z.object({ routeTableIds: z.tuple([z.string(), z.string()]).readonly() }),
  resources: (config) => ZONES.map((zone) => ({ type: ROUTE_TABLE.type, name: guideNames(config.deployment).privateRouteTable(zone) })),

  async create(ctx) {
    const [a, b] = await ctx.each(plans(ctx), (plan) => ensureRouteTable(ctx, plan));
    return { routeTableIds: [a!, b!] as const };
  },

  async verify(ctx, outputs) {
    const ok = await ctx.each(plans(ctx), (plan, i) => isAsPlanned(ctx, plan, outputs.routeTableIds[i]!));
    return ok.every(Boolean);
  },

  discover: discoverOurs(ROUTE_TABLE),
  destroy: destroyRouteTables,
});

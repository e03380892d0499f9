import { z } from 'zod';
import { AWS_MINUTES } from '../aws/durations.js';
import { defineStep } from '../engine/step.js';
import { ROUTE_TABLE, discoverOurs } from './ec2-common.js';
import { internetGateway } from './internet-gateway.js';
import { guideNames } from './names.js';
import { destroyRouteTables, ensureRouteTable, isAsPlanned, type RouteTablePlan } from './route-tables.js';
import type { StepContext } from '../engine/step.js';
import { subnets } from './subnets.js';
import { vpc } from './vpc.js';

function plan(ctx: StepContext<[typeof vpc, typeof subnets, typeof internetGateway]>): RouteTablePlan {
  return {
    name: guideNames(ctx.deployment).publicRouteTable,
    key: 'public',
    vpcId: ctx.output('vpc').vpcId,
    target: { GatewayId: ctx.output('internet-gateway').internetGatewayId },
    subnetIds: [...ctx.output('subnets').publicSubnetIds],
  };
}

/** Guide: "Public Route Table": gitlab-public, 0.0.0.0/0 to the internet gateway, both public subnets. */
export const publicRouteTable = defineStep({
  id: 'public-route-table',
  title: 'Public route table',
  needs: [vpc, subnets, internetGateway],
  minutes: 4 * AWS_MINUTES.network.create,
  outputs: z.object({ routeTableId: z.string() }),
  resources: (config) => [{ type: ROUTE_TABLE.type, name: guideNames(config.deployment).publicRouteTable }],

  async create(ctx) {
    return { routeTableId: await ensureRouteTable(ctx, plan(ctx)) };
  },

  verify: (ctx, outputs) => isAsPlanned(ctx, plan(ctx), outputs.routeTableId),

  discover: discoverOurs(ROUTE_TABLE),
  destroy: destroyRouteTables,
});

import { AWS_MINUTES } from '../aws/durations.js';
import { defineStep } from '../engine/step.js';
import { guideNames } from './names.js';
import { discoverRouteTables, destroyRouteTables, ensureRouteTable } from './route-tables.js';

/** Guide: "Public Route Table": gitlab-public, 0.0.0.0/0 to the internet gateway, both public subnets. */
export interface PublicRouteTableOutputs {
  routeTableId: string;
}

declare module '../engine/step.js' {
  interface StepOutputs {
    'public-route-table': PublicRouteTableOutputs;
  }
}

export const publicRouteTable = defineStep({
  id: 'public-route-table',
  title: 'Public route table',
  needs: ['vpc', 'subnets', 'internet-gateway'],
  minutes: 4 * AWS_MINUTES.network.create,

  async create(ctx) {
    const routeTableId = await ensureRouteTable(ctx, {
      name: guideNames(ctx.deployment).publicRouteTable,
      key: 'public',
      vpcId: ctx.output('vpc').vpcId,
      target: { GatewayId: ctx.output('internet-gateway').internetGatewayId },
      subnetIds: [...ctx.output('subnets').publicSubnetIds],
    });
    return { routeTableId };
  },

  discover: discoverRouteTables,
  destroy: destroyRouteTables,
});

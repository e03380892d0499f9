import { AWS_MINUTES } from '../aws/durations.js';
import { defineStep } from '../engine/step.js';
import { ZONES, guideNames } from './names.js';
import { discoverRouteTables, destroyRouteTables, ensureRouteTable } from './route-tables.js';

/**
 * Guide: "Private Route Tables": gitlab-private-a and -b, each sending 0.0.0.0/0 to the NAT
 * gateway in its own AZ and associated with that AZ's private subnet.
 */
export interface PrivateRouteTableOutputs {
  routeTableIds: [string, string];
}

declare module '../engine/step.js' {
  interface StepOutputs {
    'private-route-tables': PrivateRouteTableOutputs;
  }
}

export const privateRouteTables = defineStep({
  id: 'private-route-tables',
  title: 'Private route tables',
  needs: ['vpc', 'subnets', 'nat-gateways'],
  minutes: 3 * AWS_MINUTES.network.create,

  async create(ctx) {
    const { vpcId } = ctx.output('vpc');
    const { privateSubnetIds } = ctx.output('subnets');
    const { natGatewayIds } = ctx.output('nat-gateways');
    const [a, b] = await ctx.each(ZONES, (zone, i) =>
      ensureRouteTable(ctx, {
        name: guideNames(ctx.deployment).privateRouteTable(zone),
        key: `private-${zone}`,
        vpcId,
        target: { NatGatewayId: natGatewayIds[i]! },
        subnetIds: [privateSubnetIds[i]!],
      }),
    );
    return { routeTableIds: [a!, b!] };
  },

  discover: discoverRouteTables,
  destroy: destroyRouteTables,
});

import type { EC2, RouteTable } from '@aws-sdk/client-ec2';
import { errorCode, unlessNotFound } from '../aws/errors.js';
import type { DestroyResult, ResourceRef, StepContext } from '../engine/step.js';
import { ROUTE_TABLE, ec2Seen, findOurs, tagSpec, whenVisible, deleteWhenFree } from './ec2-common.js';
import { ownership } from './ownership.js';

/** What the public and the private route-table steps share: one table, its default route, its subnets. */

export interface RouteTablePlan {
  name: string;
  /** Distinguishes this table's ClientToken from the step's other tables. */
  key: string;
  vpcId: string;
  /** Where 0.0.0.0/0 goes: the internet gateway or a NAT gateway. */
  target: { GatewayId: string } | { NatGatewayId: string };
  subnetIds: string[];
}

const DEFAULT_ROUTE = '0.0.0.0/0';

function targetOf(route: { GatewayId?: string; NatGatewayId?: string }): string | undefined {
  return route.GatewayId ?? route.NatGatewayId;
}

/** Finds or creates the table, then makes its default route and its associations what the plan says. */
export async function ensureRouteTable(ctx: StepContext, plan: RouteTablePlan): Promise<string> {
  const ec2 = await ctx.aws.ec2();
  let table: RouteTable | undefined = (await findOurs(ctx, ROUTE_TABLE, plan.name))[0];
  table ??= (
    await whenVisible(ctx, `VPC ${plan.vpcId}`, () =>
      ec2.createRouteTable({
        VpcId: plan.vpcId,
        ClientToken: ctx.token(`route-table-${plan.key}`),
        TagSpecifications: tagSpec(ctx, 'route-table', plan.name),
      }),
    )
  ).RouteTable!;
  const routeTableId = table.RouteTableId!;
  await ctx.record({ type: ROUTE_TABLE.type, id: routeTableId, name: plan.name });

  const current = await readTable(ctx, ec2, routeTableId);
  const wanted = 'GatewayId' in plan.target ? plan.target.GatewayId : plan.target.NatGatewayId;
  const route = current.Routes?.find((r) => r.DestinationCidrBlock === DEFAULT_ROUTE);
  if (route && targetOf(route) !== wanted) {
    await ec2.replaceRoute({ RouteTableId: routeTableId, DestinationCidrBlock: DEFAULT_ROUTE, ...plan.target });
  } else if (!route) {
    await whenVisible(ctx, `the target of ${plan.name}`, async () => {
      try {
        await ec2.createRoute({ RouteTableId: routeTableId, DestinationCidrBlock: DEFAULT_ROUTE, ...plan.target });
      } catch (err) {
        if (errorCode(err) !== 'RouteAlreadyExists') throw err; // an earlier attempt got through
      }
    });
  }

  for (const subnetId of plan.subnetIds) {
    if (current.Associations?.some((a) => a.SubnetId === subnetId)) continue;
    try {
      await ec2.associateRouteTable({ RouteTableId: routeTableId, SubnetId: subnetId });
    } catch (err) {
      if (errorCode(err) !== 'Resource.AlreadyAssociated') throw err;
      const now = await readTable(ctx, ec2, routeTableId);
      if (!now.Associations?.some((a) => a.SubnetId === subnetId)) {
        throw new Error(`subnet ${subnetId} is already associated with another route table; remove that association and resume`);
      }
    }
  }
  return routeTableId;
}

/**
 * A completed table is still what the plan says: there, its default route active and to the
 * planned target, every planned subnet associated. Anything else (a table or route deleted by
 * hand, a NAT gateway gone) makes the step run `create` again, which repairs it.
 */
export async function isAsPlanned(ctx: StepContext, plan: RouteTablePlan, routeTableId: string): Promise<boolean> {
  const table = (await findOurs(ctx, ROUTE_TABLE, plan.name)).find((t) => t.RouteTableId === routeTableId);
  const route = table?.Routes?.find((r) => r.DestinationCidrBlock === DEFAULT_ROUTE);
  const wanted = 'GatewayId' in plan.target ? plan.target.GatewayId : plan.target.NatGatewayId;
  return (
    route?.State === 'active' &&
    targetOf(route) === wanted &&
    plan.subnetIds.every((subnetId) => table!.Associations?.some((a) => a.SubnetId === subnetId))
  );
}

async function readTable(ctx: StepContext, ec2: EC2, routeTableId: string): Promise<RouteTable> {
  const found = await whenVisible(ctx, `route table ${routeTableId}`, () => ec2.describeRouteTables({ RouteTableIds: [routeTableId] }));
  return found.RouteTables![0]!;
}

/** Associations go first: a table with subnets cannot be deleted. Routes and associations are ours when the table is. */
export async function destroyRouteTables(ctx: StepContext, resources: ResourceRef[]): Promise<DestroyResult> {
  const ec2 = await ctx.aws.ec2();
  const owner = ownership(ctx);
  await ctx.each(
    resources.filter((r) => r.type === ROUTE_TABLE.type),
    async (ref) => {
      if (!(await owner.ours(ref, () => ec2Seen(ctx, ROUTE_TABLE, ref.id)))) return;
      const found = (await ec2.describeRouteTables({ Filters: [{ Name: 'route-table-id', Values: [ref.id] }] })).RouteTables?.[0];
      for (const association of found?.Associations ?? []) {
        if (association.Main) continue;
        await unlessNotFound(() => ec2.disassociateRouteTable({ AssociationId: association.RouteTableAssociationId! }));
      }
      await deleteWhenFree(ctx, `route table ${ref.id}`, () => ec2.deleteRouteTable({ RouteTableId: ref.id }));
      await ctx.forget(ref);
    },
  );
  return owner.result();
}

import { loadBalancer } from '../../../steps/load-balancer.js';
import { asking, outputsOf, type Check } from './check.js';

/** The load balancer's target groups (HTTP and SSH): how many registered targets are healthy. */
export const loadBalancerTargets: Check = (input) => {
  const lb = outputsOf(input.state, loadBalancer);
  if (!lb) return undefined;
  return asking(input, { id: 'targets', title: 'Load balancer targets' }, async () => {
    const elb = await input.aws.elbv2();
    const groups = [];
    // One after the other: two groups, and the checks themselves already run side by side.
    for (const [name, arn] of Object.entries(lb.targetGroupArns)) {
      const targets = (await elb.describeTargetHealth({ TargetGroupArn: arn })).TargetHealthDescriptions ?? [];
      const states = targets.map((t) => t.TargetHealth?.State ?? 'unknown');
      // A draining target is on its way out (a retired base instance, a replaced node): not one that should serve.
      const draining = states.filter((state) => state === 'draining').length;
      const healthy = states.filter((state) => state === 'healthy').length;
      groups.push({ name, arn, healthy, registered: states.length - draining, draining, states });
    }
    const allHealthy = groups.every((g) => g.registered > 0 && g.healthy === g.registered);
    const someHealthy = groups.every((g) => g.healthy > 0);
    return {
      state: allHealthy ? 'ok' : someHealthy ? 'warn' : 'fail',
      text: groups
        .map((g) => `${g.name}: ${g.healthy} of ${g.registered} healthy${g.draining ? ` (${g.draining} draining)` : ''}`)
        .join(', '),
      data: { targetGroups: groups },
    };
  });
};

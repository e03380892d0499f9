import { autoScalingGroup } from '../../../steps/auto-scaling-group.js';
import { asking, outputsOf, type Check } from './check.js';

/** The Auto Scaling group: how many of its instances are InService and Healthy, against the desired count. */
export const autoScalingInstances: Check = (input) => {
  const outputs = outputsOf(input.state, autoScalingGroup);
  if (!outputs) return undefined;
  return asking(input, { id: 'auto-scaling-group', title: 'Auto Scaling group' }, async () => {
    const autoscaling = await input.aws.autoscaling();
    const group = (await autoscaling.describeAutoScalingGroups({ AutoScalingGroupNames: [outputs.name] })).AutoScalingGroups?.[0];
    if (!group) return { state: 'fail', text: `${outputs.name} not found`, data: { name: outputs.name } };
    const instances = group.Instances ?? [];
    const serving = instances.filter((i) => i.LifecycleState === 'InService' && i.HealthStatus === 'Healthy').length;
    const desired = group.DesiredCapacity ?? 0;
    return {
      state: serving >= desired && desired > 0 ? 'ok' : serving > 0 ? 'warn' : 'fail',
      text: `${outputs.name}: ${serving} of ${desired} instances InService and healthy`,
      data: {
        name: outputs.name,
        desired,
        inService: serving,
        instances: instances.map((i) => ({ id: i.InstanceId, lifecycle: i.LifecycleState, health: i.HealthStatus })),
      },
    };
  });
};

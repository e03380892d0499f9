import type { SandboxResource } from './core.js';
import { sandboxServices } from './services.js';
import type { World } from './world.js';

export type { SandboxResource };

/** Everything the sandbox account holds that still exists, seen from outside the program. */
export function inventory(world: World, now: number): SandboxResource[] {
  return Object.values(sandboxServices()).flatMap((service) => service.inventory(world, now));
}

import type { EngineStep } from '../engine/run.js';
import { iamRole } from './iam-role.js';
import { vpc } from './vpc.js';
import { subnets } from './subnets.js';

/**
 * Every step, in the guide's order. The order is what the operator reads (plan, progress list);
 * what runs when is decided by each step's `needs`.
 */
export const GUIDE_STEPS: readonly EngineStep[] = [iamRole, vpc, subnets];

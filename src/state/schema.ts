import { z } from 'zod';
import { installConfigSchema } from '../config/schema.js';

/** Bump when the document's shape changes. There is one version so far: a newer one is refused, never rewritten. */
export const STATE_SCHEMA_VERSION = 1;

/** `retained`: torn down except for resources kept on purpose (buckets holding data). */
export const STEP_STATUSES = ['pending', 'running', 'complete', 'failed', 'destroying', 'destroyed', 'retained'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const resourceRecordSchema = z.object({
  /** CloudFormation type name, so operators and tools recognise it: AWS::EC2::VPC. */
  type: z.string(),
  id: z.string(),
  step: z.string(),
  name: z.string().optional(),
  recordedAt: z.string(),
});
export type ResourceRecord = z.infer<typeof resourceRecordSchema>;

export const stepStateSchema = z.object({
  status: z.enum(STEP_STATUSES),
  outputs: z.record(z.string(), z.unknown()).optional(),
  /**
   * A digest of each needed step's outputs when this step completed: if one has changed since
   * (that step was re-created), this step is checked again by running `create`, not skipped.
   */
  needsFingerprint: z.record(z.string(), z.string()).optional(),
  error: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** Simulated or real milliseconds the last run of the step took, as the clock saw them. */
  elapsedMs: z.number().optional(),
});
export type StepState = z.infer<typeof stepStateSchema>;

export const stateSchema = z.object({
  schemaVersion: z.literal(STATE_SCHEMA_VERSION),
  writtenBy: z.string(),
  deployment: z.string(),
  /** Random per install; seeds the idempotency tokens so a re-install never replays an old one. */
  installId: z.string(),
  sandbox: z.boolean(),
  config: installConfigSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
  steps: z.record(z.string(), stepStateSchema),
  /**
   * Generations of the idempotency tokens (src/engine/tokens.ts), by step (`nat-gateways`) or by
   * token (`nat-gateways/nat-a`); absent means 0. Advanced when what a token made is known gone.
   */
  tokens: z.record(z.string(), z.number().int().nonnegative()).optional(),
  resources: z.array(resourceRecordSchema),
});
export type StateDoc = z.infer<typeof stateSchema>;

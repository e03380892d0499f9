import type { ServiceOperations } from './core.js';

/** S3 as the sandbox keeps it: bucket names are global across regions and accounts. */
export interface S3World {
  buckets: Record<string, S3Bucket>;
}

export interface S3Bucket {
  name: string;
  region: string;
  createdAt: number;
  tags: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  attrs: Record<string, any>;
}

export const s3: ServiceOperations = {};
export const s3Latency: Record<string, number> = {};

import type { ServiceOperations } from './core.js';

/** SSM Parameter Store, keyed by `${region}:${name}`. */
export interface SsmWorld {
  parameters: Record<string, SsmParameter>;
}

export interface SsmParameter {
  name: string;
  region: string;
  type: 'String' | 'StringList' | 'SecureString';
  value: string;
  version: number;
  createdAt: number;
  tags: Record<string, string>;
}

export const ssm: ServiceOperations = {};
export const ssmLatency: Record<string, number> = {};

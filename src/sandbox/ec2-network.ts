import type { ServiceOperations } from './core.js';

/** EC2's networking around the VPC: internet gateway, Elastic IPs, NAT gateways, routes, security groups. */
export const ec2Network: ServiceOperations = {};
export const ec2NetworkLatency: Record<string, number> = {};

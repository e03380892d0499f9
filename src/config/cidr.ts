import ipaddr from 'ipaddr.js';

/** An IPv4 network in CIDR form, checked to be a network address (no host bits set). */
export interface Network {
  cidr: string;
  address: ipaddr.IPv4;
  bits: number;
}

export function parseNetwork(cidr: string): Network {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    throw new Error(`'${cidr}' is not a CIDR block (expected a form like 10.0.0.0/16)`);
  }
  const [address, bits] = parsed;
  if (address.kind() !== 'ipv4') throw new Error(`'${cidr}' is IPv6; the guide's network is IPv4`);
  const v4 = address as ipaddr.IPv4;
  const network = ipaddr.IPv4.networkAddressFromCIDR(cidr);
  if (network.toString() !== v4.toString()) {
    throw new Error(`'${cidr}' has host bits set; did you mean ${network.toString()}/${bits}?`);
  }
  return { cidr, address: v4, bits };
}

export function contains(outer: Network, inner: Network): boolean {
  return inner.bits >= outer.bits && inner.address.match(outer.address, outer.bits);
}

/** Two CIDR blocks overlap exactly when one contains the other. */
export function overlaps(a: Network, b: Network): boolean {
  return contains(a, b) || contains(b, a);
}

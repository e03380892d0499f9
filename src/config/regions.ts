/**
 * A region's name, checked for its shape only: which regions exist, and which this account may
 * use, is AWS's to say (EC2 DescribeRegions, asked in preflight), so a region AWS adds tomorrow
 * works without a new release. `us-east-1`, `ap-southeast-7`, `us-gov-west-1`, `cn-north-1`.
 */
const REGION_NAME = /^[a-z]{2}(-(gov|iso[a-z]?))?-[a-z]+-\d{1,2}$/;

/** The guide builds in us-west-2; it is also the sandbox's region when nothing else is given. */
export const GUIDE_REGION = 'us-west-2';

export function isRegionName(region: string): boolean {
  return REGION_NAME.test(region);
}

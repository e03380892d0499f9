import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { contains, overlaps, parseNetwork } from '../src/config/cidr.js';
import { readConfigFile } from '../src/config/file.js';
import {
  bucketPrefixProblem,
  buildInstallConfig,
  ConfigError,
  installConfigSchema,
  LONGEST_BUCKET_TYPE,
  type ConfigFile,
} from '../src/config/schema.js';
import { BUCKET_TYPES } from '../src/steps/names.js';
import { tempDir } from './helpers.js';

const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** The error an operator would see, checked to be a ConfigError printable on one line. */
function configError(build: () => unknown): ConfigError {
  let caught: unknown;
  try {
    build();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const err = caught as ConfigError;
  expect(err.message).not.toContain('\n');
  return err;
}

async function configFileError(path: string): Promise<ConfigError> {
  let caught: unknown;
  try {
    await readConfigFile(path);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const err = caught as ConfigError;
  expect(err.message).not.toContain('\n');
  return err;
}

const build =
  (file: ConfigFile, deployment = 'gitlab', region = 'us-west-2') =>
  () =>
    buildInstallConfig({ deployment, region, file });

describe('buildInstallConfig', () => {
  it("uses the guide's network and keeps the region", () => {
    const config = buildInstallConfig({ deployment: 'gitlab', region: 'eu-central-1' });
    expect(config).toEqual({
      deployment: 'gitlab',
      region: 'eu-central-1',
      availabilityZones: [],
      vpcCidr: '10.0.0.0/16',
      subnetCidrs: { publicA: '10.0.0.0/24', privateA: '10.0.1.0/24', publicB: '10.0.2.0/24', privateB: '10.0.3.0/24' },
      // No SSH from outside the VPC until the operator names a trusted range.
      sshFromAnywhere: false,
      // The guide's database: db.m5.large, io1 100 GiB at 1000 IOPS, the newest PostgreSQL 17.
      database: {
        instanceClass: 'db.m5.large',
        allowBurstable: false,
        storageType: 'io1',
        allocatedStorage: 100,
        iops: 1000,
        engineVersion: '17',
      },
      // GitLab's recommendation on AWS: Valkey, a primary and one replica.
      cache: { nodeType: 'cache.t3.medium', engine: 'valkey', replicas: 1 },
      // The guide's compute: GitLab c5.2xlarge (EE, newest release), Gitaly m5.xlarge on io1
      // 20 GiB / 1000 IOPS, bastions t3.micro, a 2/2/4 group scaling at 60 % and 45 % CPU.
      gitlab: { edition: 'ee', instanceType: 'c5.2xlarge' },
      gitaly: { instanceType: 'm5.xlarge', volumeSize: 20, iops: 1000 },
      bastion: { instanceType: 't3.micro' },
      autoScaling: { min: 2, desired: 2, max: 4, healthCheckGracePeriod: 600, scaleUpCpu: 60, scaleDownCpu: 45 },
    });
  });

  it('reads a state file written before the database answers existed as the guide defaults', () => {
    const { database, ...older } = buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2' });
    expect(installConfigSchema.parse(older).database).toEqual(database);
  });

  it('gives gp3 storage no IOPS setting unless asked (its baseline is fixed below 400 GiB)', () => {
    const config = buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2', file: { database: { storageType: 'gp3' } } });
    expect(config.database).toMatchObject({ storageType: 'gp3', allocatedStorage: 100 });
    expect(config.database.iops).toBeUndefined();
  });

  it('fills subnets a file leaves out with the guide defaults', () => {
    const config = buildInstallConfig({
      deployment: 'gitlab',
      region: 'us-west-2',
      file: { availabilityZones: ['us-west-2b', 'us-west-2c'], subnetCidrs: { privateB: '10.0.128.0/20' } },
    });
    expect(config.availabilityZones).toEqual(['us-west-2b', 'us-west-2c']);
    expect(config.subnetCidrs).toEqual({
      publicA: '10.0.0.0/24',
      privateA: '10.0.1.0/24',
      publicB: '10.0.2.0/24',
      privateB: '10.0.128.0/20',
    });
  });

  // Which regions exist is AWS's to say (preflight asks it); without AWS only the shape is checked.
  it.each(['uswest2', 'us-west', 'US-WEST-2', 'us-west-2a'])('refuses %s as not a region name', (region) => {
    expect(configError(build({}, 'gitlab', region)).message).toContain(`'${region}' is not an AWS region name`);
  });

  it.each(['us-west-9', 'ap-southeast-7', 'us-gov-west-1', 'cn-north-1', 'mx-central-1'])(
    'takes %s, shaped like a region, without asking AWS',
    (region) => {
      expect(buildInstallConfig({ deployment: 'gitlab', region }).region).toBe(region);
    },
  );

  it.each(['10.0.0.0/33', 'banana'])('refuses vpcCidr %s as not a CIDR block', (vpcCidr) => {
    const err = configError(build({ vpcCidr }));
    expect(err.message).toContain('vpcCidr');
    expect(err.message).toContain(vpcCidr);
  });

  it('refuses a CIDR with host bits set and suggests the network address', () => {
    expect(configError(build({ vpcCidr: '10.0.0.5/16' })).message).toContain('10.0.0.0/16');
  });

  it('refuses a VPC larger than /16', () => {
    expect(configError(build({ vpcCidr: '10.0.0.0/8' })).message).toMatch(/vpcCidr.*\/16.*\/28/);
  });

  it('refuses a subnet outside the VPC, naming the field', () => {
    const err = configError(build({ subnetCidrs: { privateB: '10.1.3.0/24' } }));
    expect(err.message).toContain('subnetCidrs.privateB');
    expect(err.message).toContain('10.0.0.0/16');
  });

  it('refuses two overlapping subnets, naming both fields', () => {
    const err = configError(build({ subnetCidrs: { publicB: '10.0.0.128/25' } }));
    expect(err.message).toContain('subnetCidrs.publicA');
    expect(err.message).toContain('subnetCidrs.publicB');
  });

  it('refuses an IPv6 CIDR', () => {
    expect(configError(build({ vpcCidr: '2001:db8::/56' })).message).toContain('IPv6');
  });

  it('refuses an Availability Zone of another region', () => {
    expect(configError(build({ availabilityZones: ['us-west-2a', 'us-east-1b'] })).message).toContain('us-east-1b');
  });

  it('refuses the region name given as an Availability Zone', () => {
    // Passing the check here would only surface at CreateSubnet, after the VPC already exists.
    expect(configError(build({ availabilityZones: ['us-west-2', 'us-west-2b'] })).message).toContain("'us-west-2'");
  });

  it('refuses the same Availability Zone twice', () => {
    expect(configError(build({ availabilityZones: ['us-west-2a', 'us-west-2a'] })).message).toContain('must differ');
  });

  it.each(['GitLab', '1abc', 'a'.repeat(21), 'git_lab', ''])('refuses the deployment name %j', (name) => {
    expect(configError(build({}, name)).message).toContain('deployment name');
  });

  it('accepts a deployment name of 20 characters', () => {
    const name = `g${'-1'.repeat(9)}x`;
    expect(name).toHaveLength(20);
    expect(buildInstallConfig({ deployment: name, region: 'us-west-2' }).deployment).toBe(name);
  });
});

describe('cidr helpers', () => {
  it('parses a network and knows what it contains and overlaps', () => {
    const vpc = parseNetwork('10.0.0.0/16');
    const a = parseNetwork('10.0.1.0/24');
    const b = parseNetwork('10.0.1.128/25');
    const outside = parseNetwork('10.1.0.0/24');
    expect(vpc.bits).toBe(16);
    expect(contains(vpc, a)).toBe(true);
    expect(contains(a, vpc)).toBe(false);
    expect(contains(vpc, outside)).toBe(false);
    expect(overlaps(a, b)).toBe(true);
    expect(overlaps(b, a)).toBe(true);
    expect(overlaps(parseNetwork('10.0.0.0/24'), a)).toBe(false);
  });
});

describe('readConfigFile', () => {
  async function configFile(content: string) {
    const dir = await tempDir('gitlab-aws-config-');
    dirs.push(dir);
    const path = join(dir, 'gitlab-aws.json');
    await writeFile(path, content);
    return path;
  }

  it('reads a good file', async () => {
    const content = {
      region: 'us-east-1',
      availabilityZones: ['us-east-1a', 'us-east-1b'],
      vpcCidr: '10.20.0.0/16',
      subnetCidrs: { publicA: '10.20.0.0/24', privateA: '10.20.1.0/24', publicB: '10.20.2.0/24', privateB: '10.20.3.0/24' },
    };
    expect(await readConfigFile(await configFile(JSON.stringify(content, null, 2)))).toEqual(content);
  });

  it('refuses malformed JSON on one line naming the file', async () => {
    // An unquoted value: the parser's message quotes the text around it, line break included.
    const path = await configFile('{\n "region": us-west-2\n}\n');
    const err = await configFileError(path);
    expect(err.message).toContain(path);
    expect(err.message).toContain('not valid JSON');
  });

  it('refuses an unknown key, naming it', async () => {
    expect((await configFileError(await configFile('{"regoin": "us-west-2"}'))).message).toContain('regoin');
  });

  it('refuses an unknown subnet key, naming it', async () => {
    const err = await configFileError(await configFile('{"subnetCidrs": {"publicC": "10.0.4.0/24"}}'));
    expect(err.message).toContain('publicC');
  });

  it('refuses a value of the wrong type, naming the field path', async () => {
    const err = await configFileError(await configFile('{"subnetCidrs": {"publicA": 10}}'));
    expect(err.message).toContain('subnetCidrs.publicA');
  });

  it('refuses a missing file', async () => {
    const dir = await tempDir('gitlab-aws-config-');
    dirs.push(dir);
    const path = join(dir, 'absent.json');
    const err = await configFileError(path);
    expect(err.message).toContain('no such file');
    expect(err.message).toContain(path);
  });

  it('reads a file that starts with a UTF-8 BOM, as Windows editors save it', async () => {
    expect(await readConfigFile(await configFile('\uFEFF{"region": "eu-west-1"}'))).toEqual({ region: 'eu-west-1' });
  });
});

describe("bucket prefixes follow S3's naming rules for every bucket made from them", () => {
  it('knows the longest bucket type the steps make', () => {
    const longest = [...BUCKET_TYPES].map((t) => t.replace(/_/g, '-')).sort((a, b) => b.length - a.length)[0];
    expect(LONGEST_BUCKET_TYPE.length).toBe(longest!.length);
  });

  it('accepts the longest prefix whose longest bucket name S3 takes, and not one character more', () => {
    const longest = 'a'.repeat(63 - `-${LONGEST_BUCKET_TYPE}`.length);
    expect(bucketPrefixProblem(longest)).toBeUndefined();
    expect(`${longest}-${LONGEST_BUCKET_TYPE}`).toHaveLength(63);
    expect(bucketPrefixProblem(`${longest}a`)).toMatch(new RegExp(`at most ${longest.length}$`));
  });

  it.each(['gl', 'a', 'gl-prod-123456789012', 'x-n--ok'])('accepts %s', (prefix) => {
    expect(bucketPrefixProblem(prefix)).toBeUndefined();
  });

  it.each([
    ['xn--gl', /'xn--'/],
    ['sthree-configurator', /'sthree-'/],
    ['amzn-s3-demo-gl', /'amzn-s3-demo-'/],
    ['gl-s3alias', /'-s3alias'/],
    ['gl--ol-s3', /'--ol-s3'/],
    ['gl--table-s3', /'--table-s3'/],
    ['gl.mrap', /no dots/],
    ['-gl', /starting and ending/],
    ['gl_prod', /lowercase letters, digits and hyphens only/],
    ['', /lowercase letters/],
  ])('refuses %s', (prefix, why) => {
    expect(bucketPrefixProblem(prefix)).toMatch(why);
  });
});

describe('SSH answers', () => {
  it('refuses a trusted range together with SSH from anywhere, naming both and the fix', () => {
    const err = configError(() =>
      buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2', flags: { sshCidr: '203.0.113.0/24', sshFromAnywhere: true } }),
    );
    expect(err.message).toMatch(/--ssh-cidr.*--ssh-from-anywhere/);
    expect(err.hint).toMatch(/give only one/);
  });
});

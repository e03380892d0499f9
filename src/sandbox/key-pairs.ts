import { createHash } from 'node:crypto';
import type { EC2, KeyPairInfo } from '@aws-sdk/client-ec2';
import { awsError, tagList, tagsFromSpecifications, type OperationContext, type SdkOperations } from './core.js';
import { all, create, matches, type Ec2Resource } from './ec2.js';

/** Key pairs: imported public keys, by name within a region (their IDs are `key-...`). */

const KEY_TYPES: Record<string, string> = { 'ssh-rsa': 'rsa', 'ssh-ed25519': 'ed25519' };

export function keyPairNamed(ctx: OperationContext, name: string | undefined): Ec2Resource | undefined {
  return all(ctx, 'key-pair').find((k) => k.attrs.keyName === name);
}

function notFound(name: string | undefined): Error {
  return awsError('InvalidKeyPair.NotFound', `The key pair '${name}' does not exist`);
}

/** The one check RunInstances makes of its KeyName. */
export function requireKeyPair(ctx: OperationContext, name: string): void {
  if (!keyPairNamed(ctx, name)) throw notFound(name);
}

/** AWS's MD5 fingerprint of an imported key: of the DER public key, colon-separated. */
function fingerprint(blob: Buffer): string {
  return (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
}

function view(k: Ec2Resource): KeyPairInfo {
  return {
    KeyPairId: k.id,
    KeyName: k.attrs.keyName,
    KeyType: k.attrs.keyType,
    KeyFingerprint: k.attrs.fingerprint,
    PublicKey: k.attrs.publicKey,
    CreateTime: new Date(k.createdAt),
    Tags: tagList(k.tags),
  };
}

const FILTERS: Record<string, (k: Ec2Resource) => string> = {
  'key-name': (k) => k.attrs.keyName,
  'key-pair-id': (k) => k.id,
  fingerprint: (k) => k.attrs.fingerprint,
};

export const keyPairs: SdkOperations<EC2> = {
  ImportKeyPair(ctx, input) {
    const name = input.KeyName ?? '';
    if (!name || name.length > 255) throw awsError('InvalidParameterValue', `Value (${name}) for parameter keyName is invalid.`);
    const text = Buffer.from(input.PublicKeyMaterial ?? new Uint8Array())
      .toString('utf8')
      .trim();
    const [type, body] = text.split(/\s+/);
    const blob = body ? Buffer.from(body, 'base64') : Buffer.alloc(0);
    if (!type || !KEY_TYPES[type] || blob.length < 16) {
      throw awsError('InvalidKey.Format', 'Key is not in valid OpenSSH public key format');
    }
    if (keyPairNamed(ctx, name)) throw awsError('InvalidKeyPair.Duplicate', `The keypair already exists`);
    const key = create(ctx, 'key-pair', 'key', tagsFromSpecifications(input.TagSpecifications, 'key-pair'), 0, {
      keyName: name,
      keyType: KEY_TYPES[type],
      fingerprint: fingerprint(blob),
      publicKey: `${type} ${body}`,
    });
    return { KeyName: name, KeyPairId: key.id, KeyFingerprint: key.attrs.fingerprint, Tags: tagList(key.tags) };
  },

  DescribeKeyPairs(ctx, input) {
    const keys = all(ctx, 'key-pair');
    let found = keys;
    if (input.KeyNames?.length) {
      found = input.KeyNames.map((n) => {
        const k = keyPairNamed(ctx, n);
        if (!k) throw notFound(n);
        return k;
      });
    }
    if (input.KeyPairIds?.length) {
      found = input.KeyPairIds.map((id) => {
        const k = keys.find((x) => x.id === id);
        if (!k) throw awsError('InvalidKeyPair.NotFound', `The key pair ID '${id}' does not exist`);
        return k;
      });
    }
    const withFilters = found.filter((k) =>
      (input.Filters ?? []).every(({ Name = '', Values = [] }) =>
        FILTERS[Name] ? Values.includes(FILTERS[Name](k)) : matches(k, [{ Name, Values }], ctx.now),
      ),
    );
    return {
      KeyPairs: withFilters.map((k) => ({ ...view(k), ...(input.IncludePublicKey ? {} : { PublicKey: undefined }) })),
    };
  },

  /** AWS answers success for a name it does not know: deleting is idempotent. */
  DeleteKeyPair(ctx, input) {
    const key = input.KeyPairId ? all(ctx, 'key-pair').find((k) => k.id === input.KeyPairId) : keyPairNamed(ctx, input.KeyName);
    if (key) delete ctx.world.ec2[key.id];
    return { Return: true, ...(key ? { KeyPairId: key.id } : {}) };
  },
};

import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { ConfigError } from './errors.js';

/** Reads an OpenSSH public key file (`~` expanded); the schema then checks its form. */
export async function readPublicKeyFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(expandHome(path), 'utf8');
  } catch (err) {
    throw unreadable(path, err);
  }
  return publicKeyIn(path, text);
}

/** The same, at once: the wizard checks a typed path as it is typed (a prompt's validation is synchronous). */
export function readPublicKeyFileSync(path: string): string {
  let text: string;
  try {
    text = readFileSync(expandHome(path), 'utf8');
  } catch (err) {
    throw unreadable(path, err);
  }
  return publicKeyIn(path, text);
}

function expandHome(path: string): string {
  return path.replace(/^~(?=$|\/)/, homedir());
}

function unreadable(path: string, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code;
  return new ConfigError(
    `cannot read the SSH public key ${path}: ${code === 'ENOENT' ? 'no such file' : code}`,
    'pass an existing .pub file, e.g. --ssh-public-key ~/.ssh/id_ed25519.pub (ssh-keygen -t ed25519 makes one); nothing was created',
  );
}

function publicKeyIn(path: string, text: string): string {
  if (/PRIVATE KEY/.test(text)) {
    throw new ConfigError(
      `${path} is a private key`,
      'pass the public half, the .pub file beside it (e.g. ~/.ssh/id_ed25519.pub); nothing was created',
    );
  }
  return text.trim().split(/\r?\n/)[0] ?? '';
}

/**
 * The sandbox's key for a deployment: an ed25519 key derived from its name, so the same
 * deployment gets the same key in every process and a resume's answers compare equal.
 * Only its public half is ever written out; nothing can log in with it anywhere.
 */
export function sandboxPublicKey(deployment: string): string {
  const seed = createHash('sha256').update(`gitlab-aws sandbox key ${deployment}`).digest();
  // PKCS#8 wrapping of a raw ed25519 seed (RFC 8410).
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const publicKey = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const withLength = (data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, data]);
  };
  const blob = Buffer.concat([withLength(Buffer.from('ssh-ed25519')), withLength(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} gitlab-aws-sandbox-${deployment}`;
}

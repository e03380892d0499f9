import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { Redactor } from '../src/engine/redact.js';
import { errorMessage } from '../src/errors.js';

const pem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

function redactorOf(...secrets: string[]): Redactor {
  const redactor = new Redactor();
  for (const s of secrets) redactor.add(s);
  return redactor;
}

/** Every line of a secret long enough to identify it: none may survive anywhere in `text`. */
function leaks(text: string, secret: string): string[] {
  return secret.split('\n').filter((line) => line.length >= 16 && text.includes(line));
}

describe('the redactor', () => {
  test('blanks a multi-line PEM key inside an event, however deep', () => {
    const redactor = redactorOf(pem);
    const event = {
      type: 'step-progress',
      step: 'secrets',
      message: `wrote ${pem} to SSM`,
      nested: { list: ['ok', { deeper: pem }], count: 3, flag: true, nothing: null },
    };
    const out = redactor.deep(event);

    expect(out).toEqual({
      type: 'step-progress',
      step: 'secrets',
      message: 'wrote [redacted] to SSM',
      nested: { list: ['ok', { deeper: '[redacted]' }], count: 3, flag: true, nothing: null },
    });
    expect(leaks(JSON.stringify(out), pem)).toEqual([]);
    // The original is left as it was: the caller may still need it.
    expect(event.message).toContain(pem);
  });

  test('blanks secrets holding quotes and backslashes, raw and as quoted JSON text', () => {
    const secret = 'pa"ss\\word\'with"quotes\\';
    const redactor = redactorOf(secret);
    expect(redactor.apply(`value=${secret}!`)).toBe('value=[redacted]!');
    // An error that echoes its request as JSON spells the secret with escapes.
    const echoed = `ValidationException: bad request ${JSON.stringify({ Value: secret })}`;
    expect(redactor.apply(echoed)).toBe('ValidationException: bad request {"Value":"[redacted]"}');
    expect(redactorOf(pem).apply(`key: ${JSON.stringify(pem)}`)).toBe('key: "[redacted]"');
  });

  test('blanks secrets in error messages and in errors carried by events', () => {
    const token = 'Zm9vYmFyYmF6cXV4cXV1eA';
    const redactor = redactorOf(token, pem);
    const err = new Error(`AUTH token ${token} rejected`);
    expect(redactor.apply(errorMessage(err))).toBe('AUTH token [redacted] rejected');
    const out = redactor.deep({ error: err, errors: [new Error(`bad key\n${pem}`)] });
    expect(out.error).toBeInstanceOf(Error);
    expect(out.error.message).toBe('AUTH token [redacted] rejected');
    expect(out.errors[0]!.message).toBe('bad key\n[redacted]');
    expect(leaks(out.errors[0]!.stack ?? '', pem)).toEqual([]);
  });

  test('leaves text without secrets alone, and ignores values too short to be secrets', () => {
    const redactor = redactorOf('short', 'a-long-generated-secret');
    expect(redactor.apply('a short message about a-long-generated-secret')).toBe('a short message about [redacted]');
    const plain = { message: 'nothing to hide', list: [1, 'two'] };
    expect(redactor.deep(plain)).toEqual(plain);
    expect(new Redactor().deep(plain)).toBe(plain);
  });

  test('blanks the longer of two overlapping secrets whole', () => {
    const redactor = redactorOf('abcdefgh', 'abcdefgh-and-more');
    expect(redactor.apply('x abcdefgh-and-more y abcdefgh')).toBe('x [redacted] y [redacted]');
  });
});

import { gzipSync } from 'node:zlib';

/**
 * How a node's user-data reaches cloud-init. A script that must act before the image's own
 * per-instance scripts (the official GitLab AMI's first-boot reconfigure) cannot do so from the
 * script itself: cloud-init runs `scripts_per_instance` before `scripts_user`. A cloud-config
 * `bootcmd` runs earlier still (the init stage, every boot), so such nodes get a MIME multi-part
 * document of a cloud-config part and the script; the others get the bare script. Either way EC2
 * receives it gzip-compressed (cloud-init recognises gzip by its magic bytes), far under the
 * 16 KB EC2 allows for the raw bytes.
 */
export const USER_DATA_LIMIT = 16 * 1024;

const BOUNDARY = '==gitlab-aws-user-data==';

/**
 * The multi-part document: a cloud-config whose body is written as YAML's flow style, which is
 * also JSON, so it needs no YAML library to write or to read back; then the shell script.
 */
export function multipart(bootcmd: readonly (readonly string[])[], script: string): string {
  const part = (type: string, body: string) =>
    [`--${BOUNDARY}`, `Content-Type: ${type}; charset="us-ascii"`, 'MIME-Version: 1.0', '', body.trimEnd(), ''].join('\n');
  return [
    `Content-Type: multipart/mixed; boundary="${BOUNDARY}"`,
    'MIME-Version: 1.0',
    '',
    part('text/cloud-config', `#cloud-config\n${JSON.stringify({ bootcmd })}`),
    part('text/x-shellscript', script),
    `--${BOUNDARY}--`,
    '',
  ].join('\n');
}

/** What RunInstances and a launch template take: base64 of the gzip of the text. */
export function encodeUserData(text: string): string {
  return gzipSync(Buffer.from(text, 'utf8'), { level: 9 }).toString('base64');
}

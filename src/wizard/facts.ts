import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AwsSession } from '../aws/clients.js';
import { explain } from '../aws/errors.js';
import { zonesOffering } from '../aws/offerings.js';
import { chosenInstanceTypes, getAnswer, withDefaults, type Facts, type FactName } from '../config/answers.js';
import { GITLAB_DEFAULTS, type GitlabEdition } from '../config/compute.js';
import type { ConfigFile } from '../config/schema.js';
import { badInput } from '../errors.js';
import { covers, longestMatchingZone } from '../steps/dns.js';
import { officialGitlabImages, offeredVersions } from '../steps/machine-images.js';

/**
 * What the wizard looks up before a question that needs it: read-only AWS calls through the
 * session (the sandbox answers each), and the key files in ~/.ssh. A lookup AWS refuses stops
 * the wizard with the error in the operator's words; nothing has been created.
 */
export async function lookUp(name: FactName, facts: Facts, answers: ConfigFile, aws: AwsSession, profile?: string): Promise<Facts> {
  const now = withDefaults(answers, facts);
  const domain = getAnswer(now, 'domain') as string | undefined;
  try {
    switch (name) {
      case 'zones':
        return { ...facts, zones: await zonesOffering(await aws.ec2(), chosenInstanceTypes(now)) };
      case 'hostedZone':
        return domain ? { ...facts, zoneFound: Boolean(await longestMatchingZone(await aws.route53(), domain)) } : facts;
      case 'certificates':
        return domain ? { ...facts, certificates: await certificatesFor(aws, domain) } : facts;
      case 'gitlabVersions': {
        const edition = ((getAnswer(now, 'gitlab.edition') as string | undefined) ?? GITLAB_DEFAULTS.edition) as GitlabEdition;
        return { ...facts, gitlabVersions: offeredVersions(await officialGitlabImages(await aws.ec2(), edition), edition) };
      }
      case 'sshKeys':
        return { ...facts, sshKeys: await sshKeyFiles() };
    }
  } catch (err) {
    const { message, fix } = explain(err, { profile });
    throw badInput(`cannot look up ${WHAT[name]} for the wizard: ${message}`, fix ?? 'run it again, or give the answer in --config');
  }
}

const WHAT: Record<FactName, string> = {
  zones: 'the Availability Zones offering the instance types',
  hostedZone: "the domain's hosted zone",
  certificates: 'the ACM certificates',
  gitlabVersions: "the region's GitLab AMIs",
  sshKeys: 'the SSH keys in ~/.ssh',
};

/** The account's ISSUED certificates in the region that cover the domain (exactly or by wildcard). */
async function certificatesFor(aws: AwsSession, domain: string): Promise<Array<{ arn: string; names: string }>> {
  const acm = await aws.acm();
  const found: Array<{ arn: string; names: string }> = [];
  let NextToken: string | undefined;
  do {
    const page = await acm.listCertificates({ CertificateStatuses: ['ISSUED'], ...(NextToken ? { NextToken } : {}) });
    for (const summary of page.CertificateSummaryList ?? []) {
      if (!summary.CertificateArn) continue;
      const detail = (await acm.describeCertificate({ CertificateArn: summary.CertificateArn })).Certificate;
      if (!detail || detail.Status !== 'ISSUED' || !covers(detail, domain)) continue;
      const names = [...new Set([detail.DomainName, ...(detail.SubjectAlternativeNames ?? [])].filter(Boolean))].join(', ');
      found.push({ arn: summary.CertificateArn, names });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

/** ~/.ssh/*.pub, the usual names first (ed25519, then ECDSA, then RSA), as the operator types them. */
async function sshKeyFiles(): Promise<string[]> {
  const names = await readdir(join(homedir(), '.ssh')).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
    throw err;
  });
  const usual = ['id_ed25519.pub', 'id_ecdsa.pub', 'id_rsa.pub'];
  const rank = (name: string) => (usual.includes(name) ? usual.indexOf(name) : usual.length);
  return names
    .filter((n) => n.endsWith('.pub'))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((n) => `~/.ssh/${n}`);
}

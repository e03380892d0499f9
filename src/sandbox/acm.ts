import { X509Certificate, createPrivateKey } from 'node:crypto';
import type {
  CertificateDetail,
  CertificateSummary,
  DescribeCertificateCommandInput,
  DescribeCertificateCommandOutput,
  ImportCertificateCommandInput,
  ImportCertificateCommandOutput,
  ListCertificatesCommandInput,
  ListCertificatesCommandOutput,
} from '@aws-sdk/client-acm';
import { TAG_NAME } from '../aws/tags.js';
import { awsError, sandboxResource, tagsFromList, type Answer, type OperationContext, type SandboxService } from './core.js';

/** ACM's part of the account: certificates by ARN (the ARN names the region). */
export interface AcmWorld {
  certificates: Record<string, AcmCertificate>;
}

/** An imported certificate: ISSUED from the moment it is imported, as ACM shows one. */
export interface AcmCertificate {
  arn: string;
  region: string;
  domainName: string;
  subjectAlternativeNames: string[];
  subject: string;
  issuer: string;
  serial: string;
  notBefore: number;
  notAfter: number;
  keyAlgorithm: string;
  importedAt: number;
  tags: Record<string, string>;
}

const MAX_ITEMS = 1000;

function text(blob: Uint8Array | string | undefined): string {
  return typeof blob === 'string' ? blob : Buffer.from(blob ?? []).toString('utf8');
}

function invalid(message: string): Error {
  return awsError('ValidationException', message);
}

/** What ACM reads from the PEM it is given; it refuses a certificate its key does not match. */
function parse(input: ImportCertificateCommandInput) {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(text(input.Certificate));
  } catch {
    throw invalid('Unable to parse certificate. Please ensure the certificate is in PEM format.');
  }
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(text(input.PrivateKey)));
  } catch {
    throw invalid('Unable to parse key. Please ensure the key is in PEM format.');
  }
  if (!matches) throw invalid('The private key does not match the public key in the certificate.');
  const commonName = /(?:^|\n)CN=([^\n]+)/.exec(certificate.subject)?.[1];
  const altNames = (certificate.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4));
  const domainName = commonName ?? altNames[0];
  if (!domainName) throw invalid('The certificate names no domain (no CN and no DNS subject alternative name).');
  const key = certificate.publicKey;
  const keyAlgorithm =
    key.asymmetricKeyType === 'rsa'
      ? `RSA_${key.asymmetricKeyDetails?.modulusLength ?? 2048}`
      : `EC_${key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'secp384r1' : 'prime256v1'}`;
  return {
    domainName,
    subjectAlternativeNames: altNames.length ? altNames : [domainName],
    subject: certificate.subject.replace(/\n/g, ','),
    issuer: certificate.issuer.replace(/\n/g, ','),
    serial: certificate.serialNumber,
    notBefore: Date.parse(certificate.validFrom),
    notAfter: Date.parse(certificate.validTo),
    keyAlgorithm,
  };
}

function certificateOf(ctx: OperationContext, arn: string | undefined): AcmCertificate {
  const found = arn ? ctx.world.acm.certificates[arn] : undefined;
  if (!found || found.region !== ctx.region) {
    throw awsError('ResourceNotFoundException', `Could not find certificate with arn ${arn}`);
  }
  return found;
}

function detail(c: AcmCertificate): CertificateDetail {
  return {
    CertificateArn: c.arn,
    DomainName: c.domainName,
    SubjectAlternativeNames: c.subjectAlternativeNames,
    Subject: c.subject,
    Issuer: c.issuer,
    Serial: c.serial,
    NotBefore: new Date(c.notBefore),
    NotAfter: new Date(c.notAfter),
    ImportedAt: new Date(c.importedAt),
    KeyAlgorithm: c.keyAlgorithm as CertificateDetail['KeyAlgorithm'],
    Status: 'ISSUED',
    Type: 'IMPORTED',
    InUseBy: [],
  };
}

function summary(c: AcmCertificate): CertificateSummary {
  return {
    CertificateArn: c.arn,
    DomainName: c.domainName,
    SubjectAlternativeNameSummaries: c.subjectAlternativeNames,
    Status: 'ISSUED',
    Type: 'IMPORTED',
    KeyAlgorithm: c.keyAlgorithm as CertificateSummary['KeyAlgorithm'],
    InUse: false,
    NotBefore: new Date(c.notBefore),
    NotAfter: new Date(c.notAfter),
    ImportedAt: new Date(c.importedAt),
  };
}

const operations = {
  ImportCertificate(ctx: OperationContext, input: ImportCertificateCommandInput): Answer<ImportCertificateCommandOutput> {
    const parsed = parse(input);
    if (input.CertificateArn) {
      // Re-importing replaces the certificate behind the same ARN; its tags stay.
      const existing = certificateOf(ctx, input.CertificateArn);
      if (input.Tags?.length) throw invalid('Tags cannot be given when re-importing a certificate.');
      Object.assign(existing, parsed, { importedAt: ctx.now });
      return { CertificateArn: existing.arn };
    }
    const hex = ctx.newId('x', 32).slice(2);
    const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    const arn = `arn:aws:acm:${ctx.region}:${ctx.world.accountId}:certificate/${uuid}`;
    ctx.world.acm.certificates[arn] = { arn, region: ctx.region, ...parsed, importedAt: ctx.now, tags: tagsFromList(input.Tags) };
    return { CertificateArn: arn };
  },

  DescribeCertificate: (ctx: OperationContext, input: DescribeCertificateCommandInput): Answer<DescribeCertificateCommandOutput> => ({
    Certificate: detail(certificateOf(ctx, input.CertificateArn)),
  }),

  ListCertificates(ctx: OperationContext, input: ListCertificatesCommandInput): Answer<ListCertificatesCommandOutput> {
    const statuses = input.CertificateStatuses;
    const max = Math.min(input.MaxItems ?? MAX_ITEMS, MAX_ITEMS);
    const listed = Object.values(ctx.world.acm.certificates)
      .filter((c) => c.region === ctx.region && (!statuses?.length || statuses.includes('ISSUED')))
      .sort((a, b) => a.arn.localeCompare(b.arn));
    const start = input.NextToken ? listed.findIndex((c) => c.arn === Buffer.from(input.NextToken!, 'base64url').toString()) : 0;
    if (start < 0) throw invalid('The NextToken is not valid.');
    const page = listed.slice(start, start + max);
    const next = listed[start + max];
    return {
      CertificateSummaryList: page.map(summary),
      ...(next ? { NextToken: Buffer.from(next.arn).toString('base64url') } : {}),
    };
  },
};

export const acmService: SandboxService<AcmWorld, 'acm'> = {
  name: 'acm',
  operations,
  // Importing is immediate: ISSUED at once (AWS_MINUTES.acmCertificate is for requested, validated ones).
  latency: {},
  empty: () => ({ certificates: {} }),
  inventory: (world) =>
    Object.values(world.acm.certificates).map((c) =>
      sandboxResource('AWS::CertificateManager::Certificate', c.arn, c.tags[TAG_NAME] ?? c.domainName, c.tags),
    ),
};

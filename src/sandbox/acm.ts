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
import type { ACM } from '@aws-sdk/client-acm';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { TAG_NAME } from '../aws/tags.js';
import {
  awsError,
  sandboxResource,
  tagList,
  tagsFromList,
  type Answer,
  type OperationContext,
  type SandboxService,
  type SdkOperations,
} from './core.js';
import { findRecord } from './route53.js';

/** ACM's part of the account: certificates by ARN (the ARN names the region). */
export interface AcmWorld {
  certificates: Record<string, AcmCertificate>;
}

/**
 * A certificate: an imported one is ISSUED from the moment it is imported; a requested one waits
 * in PENDING_VALIDATION until its validation CNAME exists in a zone of the account, then takes
 * AWS_MINUTES.acmCertificate to be ISSUED.
 */
export interface AcmCertificate {
  type?: 'IMPORTED' | 'AMAZON_ISSUED';
  /** When it is (or was) ISSUED; unset while pending validation. */
  issuedAt?: number;
  validation?: { name: string; value: string };
  idempotencyToken?: string;
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

/** ISSUED once its validation record has stood in a zone for ACM's time; decided when asked. */
export function certificateStatus(ctx: OperationContext, c: AcmCertificate): 'ISSUED' | 'PENDING_VALIDATION' {
  if (c.issuedAt === undefined && c.validation) {
    const record = findRecord(ctx.world, c.validation.name, 'CNAME', c.validation.value);
    if (record) {
      const at = Math.max(c.importedAt, record.createdAt) + AWS_MINUTES.acmCertificate.create * MINUTE;
      if (ctx.now >= at) c.issuedAt = at;
    }
  }
  return c.issuedAt !== undefined && ctx.now >= c.issuedAt ? 'ISSUED' : 'PENDING_VALIDATION';
}

function inUseBy(ctx: OperationContext, c: AcmCertificate): string[] {
  return Object.values(ctx.world.elbv2.listeners)
    .filter((l) => l.certificateArn === c.arn)
    .map((l) => l.loadBalancerArn);
}

function detail(ctx: OperationContext, c: AcmCertificate): CertificateDetail {
  const current = certificateStatus(ctx, c);
  const requested = c.type === 'AMAZON_ISSUED';
  return {
    CertificateArn: c.arn,
    DomainName: c.domainName,
    SubjectAlternativeNames: c.subjectAlternativeNames,
    Subject: c.subject,
    Issuer: c.issuer,
    Serial: c.serial,
    NotBefore: new Date(c.notBefore),
    NotAfter: new Date(c.notAfter),
    ...(requested ? { CreatedAt: new Date(c.importedAt) } : { ImportedAt: new Date(c.importedAt) }),
    KeyAlgorithm: c.keyAlgorithm as CertificateDetail['KeyAlgorithm'],
    Status: current,
    Type: c.type ?? 'IMPORTED',
    InUseBy: inUseBy(ctx, c),
    ...(c.validation
      ? {
          DomainValidationOptions: [
            {
              DomainName: c.domainName,
              ValidationDomain: c.domainName,
              ValidationMethod: 'DNS',
              ValidationStatus: current === 'ISSUED' ? 'SUCCESS' : 'PENDING_VALIDATION',
              ResourceRecord: { Name: c.validation.name, Type: 'CNAME', Value: c.validation.value },
            },
          ],
        }
      : {}),
  };
}

function summary(ctx: OperationContext, c: AcmCertificate): CertificateSummary {
  return {
    CertificateArn: c.arn,
    DomainName: c.domainName,
    SubjectAlternativeNameSummaries: c.subjectAlternativeNames,
    Status: certificateStatus(ctx, c),
    Type: c.type ?? 'IMPORTED',
    KeyAlgorithm: c.keyAlgorithm as CertificateSummary['KeyAlgorithm'],
    InUse: inUseBy(ctx, c).length > 0,
    NotBefore: new Date(c.notBefore),
    NotAfter: new Date(c.notAfter),
    ImportedAt: new Date(c.importedAt),
  };
}

function newArn(ctx: OperationContext): string {
  const hex = ctx.newId('x', 32).slice(2);
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  return `arn:aws:acm:${ctx.region}:${ctx.world.accountId}:certificate/${uuid}`;
}

const DOMAIN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Requesting, deleting and tagging certificates (typed against the SDK; the older ones below by hand). */
const requested: SdkOperations<ACM> = {
  RequestCertificate(ctx, input) {
    const domainName = (input.DomainName ?? '').toLowerCase();
    if (!DOMAIN.test(domainName)) throw invalid(`The domain name '${input.DomainName}' is not valid.`);
    if (input.ValidationMethod !== 'DNS') throw invalid('The sandbox validates certificates by DNS only (ValidationMethod DNS).');
    // The same token within the hour answers the same certificate, as ACM does.
    const token = input.IdempotencyToken;
    const again = token
      ? Object.values(ctx.world.acm.certificates).find(
          (c) => c.region === ctx.region && c.idempotencyToken === token && ctx.now - c.importedAt < 60 * MINUTE,
        )
      : undefined;
    if (again) return { CertificateArn: again.arn };
    const arn = newArn(ctx);
    // As ACM does, every certificate for one name in an account is validated by the same record.
    const sibling = Object.values(ctx.world.acm.certificates).find((c) => c.validation && c.domainName === domainName);
    const validation = sibling?.validation ?? {
      name: `_${ctx.newId('x', 32).slice(2)}.${domainName}.`,
      value: `_${ctx.newId('x', 32).slice(2)}.acm-validations.aws.`,
    };
    ctx.world.acm.certificates[arn] = {
      arn,
      region: ctx.region,
      type: 'AMAZON_ISSUED',
      domainName,
      subjectAlternativeNames: [domainName, ...(input.SubjectAlternativeNames ?? []).filter((n) => n !== domainName)],
      subject: `CN=${domainName}`,
      issuer: 'Amazon',
      serial: ctx.newId('x', 32).slice(2),
      notBefore: ctx.now,
      notAfter: ctx.now + 395 * 24 * 60 * MINUTE,
      keyAlgorithm: input.KeyAlgorithm ?? 'RSA_2048',
      importedAt: ctx.now,
      validation: { ...validation },
      ...(token ? { idempotencyToken: token } : {}),
      tags: tagsFromList(input.Tags),
    };
    return { CertificateArn: arn };
  },

  DeleteCertificate(ctx, input) {
    const c = certificateOf(ctx, input.CertificateArn);
    if (inUseBy(ctx, c).length) throw awsError('ResourceInUseException', `Certificate ${c.arn} is in use by ${inUseBy(ctx, c).join(', ')}`);
    delete ctx.world.acm.certificates[c.arn];
    return {};
  },

  AddTagsToCertificate(ctx, input) {
    Object.assign(certificateOf(ctx, input.CertificateArn).tags, tagsFromList(input.Tags));
    return {};
  },

  ListTagsForCertificate: (ctx, input) => ({ Tags: tagList(certificateOf(ctx, input.CertificateArn).tags) }),
};

const operations = {
  ...requested,
  ImportCertificate(ctx: OperationContext, input: ImportCertificateCommandInput): Answer<ImportCertificateCommandOutput> {
    const parsed = parse(input);
    if (input.CertificateArn) {
      // Re-importing replaces the certificate behind the same ARN; its tags stay.
      const existing = certificateOf(ctx, input.CertificateArn);
      if (input.Tags?.length) throw invalid('Tags cannot be given when re-importing a certificate.');
      Object.assign(existing, parsed, { importedAt: ctx.now, issuedAt: ctx.now });
      return { CertificateArn: existing.arn };
    }
    const arn = newArn(ctx);
    ctx.world.acm.certificates[arn] = {
      arn,
      region: ctx.region,
      ...parsed,
      importedAt: ctx.now,
      issuedAt: ctx.now,
      tags: tagsFromList(input.Tags),
    };
    return { CertificateArn: arn };
  },

  DescribeCertificate: (ctx: OperationContext, input: DescribeCertificateCommandInput): Answer<DescribeCertificateCommandOutput> => ({
    Certificate: detail(ctx, certificateOf(ctx, input.CertificateArn)),
  }),

  ListCertificates(ctx: OperationContext, input: ListCertificatesCommandInput): Answer<ListCertificatesCommandOutput> {
    const statuses = input.CertificateStatuses;
    const max = Math.min(input.MaxItems ?? MAX_ITEMS, MAX_ITEMS);
    const listed = Object.values(ctx.world.acm.certificates)
      .filter((c) => c.region === ctx.region && (!statuses?.length || statuses.includes(certificateStatus(ctx, c))))
      .sort((a, b) => a.arn.localeCompare(b.arn));
    const start = input.NextToken ? listed.findIndex((c) => c.arn === Buffer.from(input.NextToken!, 'base64url').toString()) : 0;
    if (start < 0) throw invalid('The NextToken is not valid.');
    const page = listed.slice(start, start + max);
    const next = listed[start + max];
    return {
      CertificateSummaryList: page.map((c) => summary(ctx, c)),
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

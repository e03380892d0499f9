import { tlsCertificate } from '../../../steps/tls-certificate.js';
import { asking, outputsOf, type Check } from './check.js';

const DAY = 24 * 60 * 60 * 1000;
/** ACM starts renewing 60 days before the end; a month left and still not renewed wants a look. */
const WARN_DAYS = 30;

/** The load balancer's certificate: its status and when it expires (ACM NotAfter), in days left. */
export const certificateExpiry: Check = (input) => {
  const outputs = outputsOf(input.state, tlsCertificate);
  if (!outputs) return undefined;
  return asking(input, { id: 'certificate', title: 'TLS certificate' }, async () => {
    const acm = await input.aws.acm();
    const cert = (await acm.describeCertificate({ CertificateArn: outputs.certificateArn })).Certificate;
    const status = cert?.Status ?? 'unknown';
    const notAfter = cert?.NotAfter;
    const daysLeft = notAfter ? Math.floor((notAfter.getTime() - input.now) / DAY) : undefined;
    const expiry = notAfter ? `, expires ${notAfter.toISOString().slice(0, 10)} (${daysLeft} days left)` : '';
    return {
      state: status !== 'ISSUED' || (daysLeft ?? 0) <= 0 ? 'fail' : daysLeft! < WARN_DAYS ? 'warn' : 'ok',
      text: `${cert?.DomainName ?? outputs.certificateArn}: ${status}${expiry}`,
      data: { certificateArn: outputs.certificateArn, status, ...(notAfter ? { notAfter: notAfter.toISOString(), daysLeft } : {}) },
    };
  });
};

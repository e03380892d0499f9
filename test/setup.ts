/**
 * The safety net: no test can reach a real AWS account. Credentials are fake, every endpoint
 * points at a closed local port, and no profile or config file of the machine is read.
 */
process.env.AWS_ACCESS_KEY_ID = 'AKIATESTONLYNOTREAL';
process.env.AWS_SECRET_ACCESS_KEY = 'test-only-not-a-real-secret';
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;
process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:1';
process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_MAX_ATTEMPTS = '1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
delete process.env.AWS_REGION;
delete process.env.AWS_DEFAULT_REGION;
for (const key of Object.keys(process.env)) {
  if (key.startsWith('AWS_ENDPOINT_URL_')) delete process.env[key];
}

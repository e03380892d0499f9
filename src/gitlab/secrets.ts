import type { SecretName } from '../steps/secrets.js';

/** Where each secret's value lands on the node: a file only root may read, one per secret. */
export const SECRET_DIR = '/etc/gitlab/gitlab-aws-secrets';
export const secretFile = (name: SecretName) => `${SECRET_DIR}/${name}`;

/** gitlab.rb names a secret only as the file the user-data fetched it into. */
export const rubySecret = (name: SecretName) => `File.read('${secretFile(name)}').strip`;

/**
 * The keys of /etc/gitlab/gitlab-secrets.json we set, as omnibus' SecretsHelper lays the file out
 * (files/gitlab-cookbooks/package/libraries/helpers/secrets_helper.rb at 19.3.0+ee.0). Every
 * Rails node and Gitaly write the same ones from the same parameters, so they cannot disagree.
 * The file is merged, not replaced: keys the package generates itself on the base instance
 * (workhorse, Active Record encryption) reach the clones through the baked image. The secrets
 * step's `rails/ci-jwt-signing-key` has no key here: GitLab keeps that one in the database.
 */
export const GITLAB_SECRETS_JSON: ReadonlyArray<{ path: readonly string[]; secret: SecretName }> = [
  { path: ['gitlab_shell', 'secret_token'], secret: 'gitlab-shell-secret' },
  { path: ['gitaly', 'gitlab_secret'], secret: 'gitlab-shell-secret' },
  { path: ['gitaly', 'configuration', 'auth', 'token'], secret: 'gitaly-token' },
  { path: ['gitlab_rails', 'gitaly_token'], secret: 'gitaly-token' },
  { path: ['gitlab_rails', 'secret_key_base'], secret: 'rails/secret-key-base' },
  { path: ['gitlab_rails', 'db_key_base'], secret: 'rails/db-key-base' },
  { path: ['gitlab_rails', 'otp_key_base'], secret: 'rails/otp-key-base' },
  { path: ['gitlab_rails', 'encrypted_settings_key_base'], secret: 'rails/encrypted-settings-key-base' },
  { path: ['gitlab_rails', 'openid_connect_signing_key'], secret: 'rails/openid-connect-signing-key' },
];

/** The secrets a node fetches: gitlab-secrets.json's on every node, the rest only where gitlab.rb reads them. */
export const SHARED_SECRETS: readonly SecretName[] = [...new Set(GITLAB_SECRETS_JSON.map((entry) => entry.secret))];
export const RAILS_SECRETS: readonly SecretName[] = ['database-password', 'redis-auth-token', 'root-password', ...SHARED_SECRETS];

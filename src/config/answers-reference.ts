import { ANSWERS, completeConfigFile, type AnswerDef } from './answers.js';
import { buildInstallConfig } from './schema.js';
import { GUIDE_REGION } from './regions.js';

/**
 * The reference of every answer, generated from ANSWERS: `install --help` shows it as text and
 * the README holds it as a table between its answers markers (a test keeps the two equal).
 */

/** The flag's long name alone (`--cache-replicas`). */
export function flagName(def: AnswerDef): string | undefined {
  return def.flag?.flags.split(' ')[0];
}

/** `install --help`: one entry per config key: key, flag, default, why. */
export function answersHelp(): string {
  const lines = ['Answers (config-file keys for --config, in the order the wizard asks them):'];
  for (const def of ANSWERS) {
    const flag = flagName(def);
    lines.push(`  ${def.key}${flag ? `  ${flag}` : ''}  (default: ${def.guide})`, `      ${def.why}`);
  }
  return lines.join('\n');
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The README's block: the table of answers and a complete config file with the guide's defaults. */
export function answersMarkdown(): string {
  const rows = ANSWERS.map(
    (def) =>
      `| \`${def.key}\` | ${flagName(def) ? `\`${flagName(def)}\`` : ''} | ${cell(def.guide)} | ${cell(def.why)}${def.rare ? ' (rare)' : ''}${def.asked === false ? ' (not asked on its own)' : ''} |`,
  );
  return [
    '### Every answer',
    '',
    'On a terminal, `install` is a wizard: it asks each answer below that the flags and `--config` did not give, in this',
    'order, with its default and why, and refuses a typo as it is typed. Answers marked (rare) are asked only when you',
    'choose to change them. Without a terminal and without `--yes` it lists every',
    'missing answer and exits 2; `install --config answers.json --yes` asks nothing. In a file, `null` means "not set, on',
    'purpose" (no SSH range, request a certificate). `--save-config answers.json` writes them all once they are checked,',
    'before anything is created, and `plan --json` output reads back as a `--config` file too. The same reference is in',
    '`gitlab-aws install --help`.',
    '',
    '| Key | Flag | Default | Why |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    'A complete answers file (what `--save-config` writes):',
    '',
    '```json',
    JSON.stringify(exampleConfigFile(), null, 2),
    '```',
  ].join('\n');
}

/** Every answer at the guide's default, in the region the guide uses, with placeholders where the operator must answer. */
export function exampleConfigFile(): object {
  const config = buildInstallConfig({
    deployment: 'gitlab',
    region: GUIDE_REGION,
    file: {
      availabilityZones: [`${GUIDE_REGION}a`, `${GUIDE_REGION}b`],
      domain: 'gitlab.yourcompany.com',
      sshCidr: '203.0.113.0/24',
      gitlab: { version: '19.5' },
    },
    sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyMaterialOnlyForTheReadme you@laptop',
  });
  return completeConfigFile(config);
}

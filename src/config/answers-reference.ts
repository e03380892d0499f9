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
      `| \`${def.key}\` | ${flagName(def) ? `\`${flagName(def)}\`` : ''} | ${cell(def.guide)} | ${cell(def.why)}${def.rare ? ' (asked only when you choose to change the rare answers)' : ''}${def.asked === false ? ' (not asked: a file or flag answer)' : ''} |`,
  );
  return [
    '| Key | Flag | Default | Why |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    'A complete answers file (what `--save-config` writes; `install --config answers.json --yes` asks nothing):',
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

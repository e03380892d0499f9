import type { AwsSession } from '../../aws/clients.js';
import { resolveRegion } from '../../aws/region.js';
import { answerFor, completeConfigFile, configFrom, isAnswered, type FactName, type Facts } from '../../config/answers.js';
import { ConfigError, type ConfigFile, type InstallConfig } from '../../config/schema.js';
import { badInput, ExitError } from '../../errors.js';
import { writeFileAtomically } from '../../state/atomic.js';
import { askAnswer, askAnswers } from '../../wizard/index.js';
import { lookUp } from '../../wizard/facts.js';
import { resolveDeployment, type Deployment } from '../deployment.js';
import type { CommandContext } from '../options.js';
import type { CommandPipeline } from '../pipeline.js';

/**
 * install's answer stages: the wizard asks what the --config file and the flags left open. Before
 * the session: the deployment's name (unless --deployment was typed; an installed one of that
 * name is a resume, and nothing more is asked) and the region. With it: the rest, with AWS's facts.
 * A resumed install asks nothing: its answers are the state file's.
 */
export const installAnswers: NonNullable<CommandPipeline['answer']> = {
  async beforeSession(ctx, deployment) {
    if (deployment.state) return deployment;
    const facts = await baseFacts(ctx);
    let answers = deployment.given;
    const name = answerFor('deployment');
    if (!isAnswered(answers, name)) {
      answers = await askAnswer(ctx.host, name, answers, facts);
      if (answers.deployment !== undefined && answers.deployment !== ctx.options.deployment) {
        ctx.options.deployment = answers.deployment;
        const named = await resolveDeployment(ctx.options, { writes: true, answering: true });
        if (named.state) return named;
        deployment = { ...named, given: { ...named.given, ...answers } };
      }
    }
    answers = await askAnswers(ctx.host, 'before', answers, facts);
    // A host that cannot ask answered the region with a blank: keep the stand-in until settle() refuses.
    const config = built({ region: deployment.config.region, ...definedOnly(answers) }, facts);
    return { ...deployment, config, given: answers };
  },

  async afterSession(ctx, deployment, aws) {
    if (!deployment.state) {
      const facts = await baseFacts(ctx);
      const answers = await askAnswers(ctx.host, 'after', deployment.given, facts, (name, known, so) =>
        lookUpOrSay(ctx, name, known, so, aws),
      );
      deployment = { ...deployment, config: built({ region: deployment.config.region, ...definedOnly(answers) }, facts), given: answers };
    }
    // A host that could not ask refuses here, naming every question, before anything checks AWS with a guess.
    ctx.host.settle();
    if (ctx.options.saveConfig) await saveConfig(ctx, deployment.config);
    return deployment;
  },
};

/**
 * A fact AWS would not give (no credentials yet, no network) leaves its question without choices
 * (the zones question is then not asked: the subnets step picks the first two). The offline
 * answers are still asked and checked, and preflight, right after, refuses the session with the
 * reason in full, so the lookup's own failure is a debug line, not a second error.
 */
async function lookUpOrSay(ctx: CommandContext, name: FactName, known: Facts, answers: ConfigFile, aws: AwsSession): Promise<Facts> {
  try {
    return await lookUp(name, known, answers, aws, ctx.options.profile);
  } catch (err) {
    if (!(err instanceof ExitError)) throw err;
    ctx.host.notify({ level: 'debug', code: 'wizard.lookup-failed', text: err.message });
    return known;
  }
}

function definedOnly(answers: ConfigFile): ConfigFile {
  return Object.fromEntries(Object.entries(answers).filter(([, v]) => v !== undefined));
}

async function baseFacts(ctx: CommandContext): Promise<Facts> {
  return {
    sandbox: ctx.options.sandbox,
    deployment: ctx.options.deployment,
    sdkRegion: await resolveRegion(undefined, ctx.options.profile),
  };
}

/** The configuration of the answers; each was checked as it was given, so a refusal here is the file's or a flag's. */
function built(answers: ConfigFile, facts: Facts): InstallConfig {
  try {
    return configFrom(answers, facts);
  } catch (err) {
    if (err instanceof ConfigError) throw badInput(err.message, err.hint ?? 'fix the value and run the command again; nothing was created');
    throw err;
  }
}

/** --save-config: the complete answers as a --config file, so the same install can be repeated (in CI, say). */
async function saveConfig(ctx: CommandContext, config: InstallConfig): Promise<void> {
  const file = ctx.options.saveConfig!;
  try {
    await writeFileAtomically(file, `${JSON.stringify(completeConfigFile(config), null, 2)}\n`);
  } catch (err) {
    throw badInput(
      `cannot write --save-config ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      'name a writable file; nothing was created',
    );
  }
  ctx.host.notify({
    level: 'info',
    code: 'config.saved',
    text: `Answers saved to ${file} (repeat with --config ${file} --yes).`,
    data: { file },
  });
}

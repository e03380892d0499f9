import type { ResourceRef } from '../../engine/step.js';
import { badInput, EXIT, type ExitCode } from '../../errors.js';
import type { AwsClients } from '../../aws/clients.js';
import type { StateDoc } from '../../state/schema.js';
import { readState, StateStore } from '../../state/store.js';
import { guideNames } from '../../steps/names.js';
import { DB_INSTANCE, finalSnapshots, rdsPostgres } from '../../steps/rds-postgres.js';
import type { IoHost } from '../../ui/host.js';
import { resolveDeployment, type Deployment } from '../deployment.js';
import { blankState, discoverDeployment, resourceLine, type DiscoveredResource } from '../discovery.js';
import { execute, exitCodeOf } from '../execute.js';
import { commandLine, type CommandContext, type GlobalOptions } from '../options.js';
import { runPipeline, type Confirmation } from '../pipeline.js';
import { extentText, teardownExtent } from './extent.js';

interface TeardownFlags {
  deleteData?: boolean;
  skipFinalSnapshot?: boolean;
  discover?: boolean;
}

/**
 * `teardown`: removes exactly what this deployment made: what the state file recorded plus
 * whatever carries the deployment's tags (a crash can create something before it is recorded).
 * With --discover the state file is not needed: what AWS holds with the tags is listed first.
 */
export async function teardown(ctx: CommandContext, own: TeardownFlags): Promise<ExitCode> {
  const { host } = ctx;
  const options = { ...ctx.options, deleteData: Boolean(own.deleteData), skipFinalSnapshot: Boolean(own.skipFinalSnapshot) };
  const name = options.deployment;
  if (!own.discover) {
    const deployment = await resolveDeployment(options);
    if (!deployment.state) return withoutStateFile(host, options, deployment);
  }
  let discovered: DiscoveredResource[] = [];
  return runPipeline(
    { ...ctx, options },
    {
      check(deployment) {
        if (!deployment.state && !own.discover) throw noDeployment(options, deployment);
      },
      async present(ready) {
        const { deployment, aws } = ready;
        const where = `${deployment.config.region}${options.sandbox ? ' (sandbox)' : ''}`;
        const recorded = deployment.state?.resources.length ?? 0;
        discovered = await discoverDeployment(ready);
        if (own.discover && !discovered.length && !deployment.state) return;
        if (options.skipFinalSnapshot && deployment.state?.resources.some((r) => r.type === DB_INSTANCE)) {
          host.notify({
            level: 'warn',
            code: 'teardown.no-final-snapshot',
            text: 'The RDS database is deleted without a final snapshot (--skip-final-snapshot): its data will be gone.',
          });
        }
        const extent = await teardownExtent(aws, deployment.state, discovered, {
          deleteData: options.deleteData,
          finalSnapshot: options.skipFinalSnapshot ? undefined : plannedFinalSnapshot(options, deployment.state, discovered),
        });
        const data = { deployment: name, region: deployment.config.region, recorded, deleted: extent.deleted, kept: extent.kept };
        host.notify(
          own.discover
            ? {
                level: 'info',
                code: 'teardown.discovered',
                text: extentText(
                  `Teardown of deployment '${name}' in ${where} (${discovered.length} resources tagged with this deployment` +
                    (recorded ? `, ${recorded} recorded in the state file)` : ')'),
                  extent,
                ),
                data: { ...data, resources: discovered },
              }
            : {
                level: 'info',
                code: 'teardown.extent',
                text: extentText(`Teardown of deployment '${name}' in ${where} (${recorded} recorded, the rest found by its tags)`, extent),
                data,
              },
        );
      },
      confirm: ({ deployment }) =>
        own.discover && !discovered.length && !deployment.state
          ? undefined
          : typeTheName(name, own.discover ? 'confirm-teardown-discovered' : 'confirm-teardown'),
      lock: 'gitlab-aws teardown',
      async run({ ctx: runCtx, deployment, aws }, state) {
        if (!state && !own.discover) throw badInput(`deployment '${name}' disappeared while waiting for the lock`);
        if (!state && !discovered.length) return nothingToTearDown(host, name, deployment.config.region);
        // Without a state file the run starts from a blank one, which a clean end removes again.
        const store = new StateStore(
          deployment.paths.file,
          state ?? blankState(deployment, options.sandbox, 'gitlab-aws teardown --discover'),
        );
        const result = await execute(runCtx, deployment, aws, store, 'teardown');
        // Named whether or not the rest went through: the operator may believe these were ours.
        for (const foreign of result.foreign ?? []) {
          host.notify({
            level: 'warn',
            code: 'teardown.foreign',
            text: `left alone: ${foreign.type} ${[...new Set([foreign.name ?? foreign.id, foreign.id])].join(' ')} (${foreign.reason})`,
            data: foreign,
          });
        }
        if (!result.ok) return exitCodeOf(result);
        if (!options.skipFinalSnapshot) await reportFinalSnapshots(host, aws, name);
        const kept = store.state.resources;
        if (kept.length === 0) {
          await store.remove();
          host.notify({
            level: 'info',
            code: 'teardown.done',
            text: `Deployment '${name}' is gone; the last state is kept in ${deployment.paths.backup}.`,
            data: { deployment: name, backup: deployment.paths.backup },
          });
        } else {
          host.notify({
            level: 'info',
            code: 'teardown.kept',
            text: keptLines(kept, commandLine(options, 'teardown', {}, '--delete-data'), commandLine(options, 'teardown')).join('\n'),
            data: { deployment: name, kept: kept.map((r) => r.id) },
          });
        }
        return EXIT.ok;
      },
    },
  );
}

/** The name the database's final snapshot will have (recorded once the database was made), when there is a database. */
function plannedFinalSnapshot(options: GlobalOptions, state: StateDoc | undefined, discovered: DiscoveredResource[]): string | undefined {
  if (![...(state?.resources ?? []), ...discovered].some((r) => r.type === DB_INSTANCE)) return undefined;
  const planned = state?.steps[rdsPostgres.id]?.outputs?.finalSnapshot;
  return typeof planned === 'string' ? planned : `${guideNames(options.deployment).dbInstance}-final-<its creation time>`;
}

/**
 * The operator types the deployment's name (GitHub's "delete this repository"): Enter, a typo or
 * another deployment's name cancels; --yes answers with the name.
 */
function typeTheName(name: string, id: string): Confirmation {
  return {
    id,
    message: `Type the deployment's name, ${name}, to delete all of the above (anything else cancels)`,
    why: 'Deleting cannot be undone: GitLab, its database and its repositories go with it.',
    default: '',
    withYes: name,
    accepts: (answer) => answer.trim() === name,
    cancelled: 'cancelled: nothing was deleted',
  };
}

/** After: the final snapshots AWS now holds of this deployment's database, by name (what teardown leaves). */
async function reportFinalSnapshots(host: IoHost, aws: AwsClients, deployment: string): Promise<void> {
  const snapshots = await finalSnapshots(await aws.rds(), guideNames(deployment).dbInstance);
  for (const snapshot of snapshots) {
    host.notify({
      level: 'info',
      code: 'teardown.final-snapshot',
      text: `Kept the RDS final snapshot ${snapshot}: restore the database from it, or delete it in the RDS console when it is no longer needed.`,
      data: { snapshot },
    });
  }
}

/** What a teardown kept on purpose, by kind: buckets holding data, zones holding records not ours. */
function keptLines(kept: ResourceRef[], deleteData: string, again: string): string[] {
  const zones = kept.filter((r) => r.type === 'AWS::Route53::HostedZone');
  const buckets = kept.filter((r) => !zones.includes(r));
  return [
    ...(buckets.length ? [`Kept ${buckets.length} S3 bucket(s) that hold data: ${buckets.map((r) => r.id).join(', ')}.`] : []),
    ...(zones.length
      ? [`Kept hosted zone(s) ${zones.map((r) => `${r.name ?? ''} (${r.id})`).join(', ')}: they hold DNS records that are not ours.`]
      : []),
    [
      'Everything else is gone.',
      ...(buckets.length ? [`To delete the buckets and their data too: ${deleteData}`] : []),
      ...(zones.length ? [`To remove a kept zone: delete its other records, then ${again}`] : []),
    ].join(' '),
  ];
}

/**
 * No state file: a torn-down deployment (its last state, kept as the backup, records nothing
 * left) has nothing to do; otherwise the state file is elsewhere or was lost, and --discover
 * finds what AWS holds with the deployment's tags.
 */
async function withoutStateFile(host: IoHost, options: GlobalOptions, deployment: Deployment): Promise<ExitCode> {
  const last = await readState(deployment.paths.backup);
  const tornDown = last && !last.resources.length && Object.values(last.steps).every((s) => s.status === 'destroyed');
  if (!tornDown) throw noDeployment(options, deployment);
  return nothingToTearDown(host, options.deployment, deployment.config.region);
}

function nothingToTearDown(host: IoHost, name: string, region: string): ExitCode {
  host.notify({
    level: 'info',
    code: 'teardown.nothing',
    text: `Deployment '${name}' in ${region}: nothing to tear down.`,
    data: { deployment: name, region },
  });
  return EXIT.ok;
}

function noDeployment(options: GlobalOptions, deployment: Deployment): Error {
  const discover = commandLine(options, 'teardown', { region: deployment.config.region }, '--discover');
  return badInput(
    `there is no deployment '${options.deployment}' in ${options.stateDir}`,
    `check --deployment and --state-dir; to remove what AWS holds tagged with this deployment without a state file: ${discover}`,
  );
}

import { randomBytes } from 'node:crypto';
import { createDb, migrateToLatest } from '@latchkey/db';
import { canonicalUsername } from '@latchkey/shared';
import { listAuditEvents } from '../audit/audit.repository.ts';
import { loadConfig, withSigningKey } from '../config.ts';
import { createLogger } from '../logger.ts';
import type { Fail } from '../result.ts';
import { createDeps, type Deps } from '../deps.ts';
import {
  createUser,
  listUsers,
  removeUser,
  resetSecondFactor,
  revokeAllSessions,
  setDisabled,
  setPassword,
} from '../users/admin.service.ts';
import { readPassword } from './password-input.ts';
import { resealSecrets } from '../mfa/rewrap.ts';

/** A failure the operator can act on: printed as one line, exit status 1. */
export class CliError extends Error {}

export const USAGE = `usage: pnpm latchkey <command>
  migrate                         apply pending database migrations
  user create <username>          create a user (password from stdin or a prompt)
  user set-password <username>    replace a password and end the user's sessions
  user disable <username>         block sign-in and end the user's sessions
  user enable <username>          allow sign-in again
  user delete <username>          delete a user and their sessions
  user list                       list users
  user reset-mfa <username>       remove a user's second factor and end their sessions
  sessions revoke <username>      end every session of a user
  mfa rewrap                      re-seal every TOTP secret with the current MFA key
  keys generate                   print a new random JWT_SECRET
  audit [--user NAME] [--since ISO-DATE|30m|24h|7d] [--limit N]   print security events`;

type Out = (line: string) => void;

function explain(failure: Fail<string>, username: string): never {
  switch (failure.code) {
    case 'NO_SUCH_USER':
      throw new CliError(`no user named ${JSON.stringify(username)}`);
    case 'USERNAME_TAKEN':
      throw new CliError(`username ${JSON.stringify(username)} is already taken`);
    default:
      throw new CliError(failure.message ?? 'invalid input');
  }
}

function parseSince(value: string): Date {
  const relative = /^(\d+)([mhd])$/.exec(value);
  if (relative) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd'];
    return new Date(Date.now() - Number(relative[1]) * unit);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new CliError(`--since: cannot read ${value}`);
  return date;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new CliError(`${name} needs a value`);
  return value;
}

async function withDeps<T>(fn: (deps: Deps) => Promise<T>): Promise<T> {
  const config = withSigningKey(loadConfig());
  const dbh = await createDb(config.databaseUrl, { poolSize: 2 });
  let deps: Deps | undefined;
  try {
    await migrateToLatest(dbh.db, dbh.schema);
    deps = await createDeps(config, dbh, createLogger('warn'));
    return await fn(deps);
  } finally {
    await deps?.hasher.close();
    await dbh.close();
  }
}

async function userCommand(deps: Deps, verb: string, name: string, out: Out): Promise<void> {
  const shown = canonicalUsername(name);
  switch (verb) {
    case 'create': {
      const result = await createUser(deps, name, await readPassword('Password: '));
      if (!result.ok) explain(result, shown);
      return out(`created ${result.value.username} (${result.value.id})`);
    }
    case 'set-password': {
      const result = await setPassword(deps, name, await readPassword('New password: '));
      if (!result.ok) explain(result, shown);
      return out(`password set for ${shown}; their sessions have ended`);
    }
    case 'disable':
    case 'enable': {
      const result = await setDisabled(deps, name, verb === 'disable');
      if (!result.ok) explain(result, shown);
      return out(verb === 'disable' ? `disabled ${shown}; sessions ended` : `enabled ${shown}`);
    }
    case 'reset-mfa': {
      const result = await resetSecondFactor(deps, name);
      if (!result.ok) explain(result, shown);
      const what = result.value ? 'second factor removed' : 'no second factor was set';
      return out(`${what} for ${shown}; their sessions have ended`);
    }
    case 'delete': {
      const result = await removeUser(deps, name);
      if (!result.ok) explain(result, shown);
      return out(`deleted ${shown}`);
    }
    default:
      throw new CliError(`unknown command: user ${verb} (run pnpm latchkey for usage)`);
  }
}

export async function run(args: string[], out: Out): Promise<void> {
  const [group, verb, name, ...rest] = args;
  if (group === 'keys' && verb === 'generate') {
    return out(randomBytes(32).toString('base64url'));
  }
  if (group === 'migrate' && verb === undefined) {
    return withDeps(() => Promise.resolve(out('migrations applied')));
  }
  if (group === 'user' && verb === 'list') {
    return withDeps(async (deps) => {
      for (const u of await listUsers(deps.db)) {
        const state = u.disabledAt ? `disabled ${u.disabledAt.toISOString()}` : 'enabled';
        out(`${u.username}\t${u.id}\t${u.createdAt.toISOString()}\t${state}`);
      }
    });
  }
  if (group === 'user' && verb !== undefined && name !== undefined && rest.length === 0) {
    return withDeps((deps) => userCommand(deps, verb, name, out));
  }
  if (group === 'sessions' && verb === 'revoke' && name !== undefined && rest.length === 0) {
    return withDeps(async (deps) => {
      const result = await revokeAllSessions(deps, name);
      if (!result.ok) explain(result, canonicalUsername(name));
      out(`revoked ${result.value} session(s) of ${canonicalUsername(name)}`);
    });
  }
  if (group === 'mfa' && verb === 'rewrap' && name === undefined) {
    return withDeps(async (deps) => {
      const { resealed, unreadable } = await resealSecrets(deps);
      out(`re-sealed ${resealed} TOTP secret(s) with the current key`);
      if (unreadable > 0) {
        throw new CliError(`${unreadable} secret(s) open with no configured key; keep the old key`);
      }
    });
  }
  if (group === 'audit') {
    const flags = args.slice(1);
    const user = option(flags, '--user');
    const since = option(flags, '--since');
    const limit = Number(option(flags, '--limit') ?? '100');
    if (!Number.isInteger(limit) || limit < 1)
      throw new CliError('--limit must be a positive integer');
    return withDeps(async (deps) => {
      const events = await listAuditEvents(deps.db, {
        username: user === undefined ? undefined : canonicalUsername(user),
        since: since === undefined ? undefined : parseSince(since),
        limit,
      });
      for (const e of events) {
        out(
          [
            e.occurredAt.toISOString(),
            e.event,
            e.reason ?? '-',
            e.username ?? '-',
            e.clientAddress ?? '-',
            JSON.stringify(e.userAgent ?? '-'),
          ].join('\t'),
        );
      }
    });
  }
  throw new CliError(
    group === undefined
      ? USAGE
      : `unknown command: ${args.join(' ')} (run pnpm latchkey for usage)`,
  );
}

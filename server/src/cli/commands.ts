import { randomBytes } from 'node:crypto';
import { createDb, migrateToLatest } from '@latchkey/db';
import { canonicalUsername } from '@latchkey/shared';
import { listAuditEvents } from '../audit/audit.repository.ts';
import { loadConfig, withSigningKey } from '../config.ts';
import { createLogger } from '../logger.ts';
import type { Fail, Result } from '../result.ts';
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

/** `user <verb> <username>`: resolves the user by name and says what was done. */
function userVerb<T>(
  act: (deps: Deps, name: string) => Promise<Result<T, string>>,
  done: (shown: string, value: T) => string,
): Command['run'] {
  return ([name], out) =>
    withDeps(async (deps) => {
      const username = name ?? '';
      const shown = canonicalUsername(username);
      const result = await act(deps, username);
      if (!result.ok) explain(result, shown);
      out(done(shown, result.value));
    });
}

function printUsers(): Command['run'] {
  return (_args, out) =>
    withDeps(async (deps) => {
      for (const u of await listUsers(deps.db)) {
        const state = u.disabledAt ? `disabled ${u.disabledAt.toISOString()}` : 'enabled';
        out(`${u.username}\t${u.id}\t${u.createdAt.toISOString()}\t${state}`);
      }
    });
}

function printAudit(): Command['run'] {
  return (flags, out) => {
    const user = option(flags, '--user');
    const since = option(flags, '--since');
    const limit = Number(option(flags, '--limit') ?? '100');
    if (!Number.isInteger(limit) || limit < 1) {
      throw new CliError('--limit must be a positive integer');
    }
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
  };
}

interface Command {
  /** The words that name it: `['user', 'create']`. */
  words: readonly string[];
  /** What follows the words, as shown in the usage: `<username>`, or the flags. */
  params: string;
  /** `<username>`-style params are exactly one word each; `flags` takes whatever follows. */
  takes: 'words' | 'flags';
  summary: string;
  run(args: string[], out: Out): Promise<void>;
}

/** Every command, in usage order. Add one here and the usage text follows. */
export const COMMANDS: readonly Command[] = [
  {
    words: ['migrate'],
    params: '',
    takes: 'words',
    summary: 'apply pending database migrations',
    run: (_args, out) => withDeps(() => Promise.resolve(out('migrations applied'))),
  },
  {
    words: ['user', 'create'],
    params: '<username>',
    takes: 'words',
    summary: 'create a user (password from stdin or a prompt)',
    run: userVerb(
      async (deps, name) => createUser(deps, name, await readPassword('Password: ')),
      (_shown, user) => `created ${user.username} (${user.id})`,
    ),
  },
  {
    words: ['user', 'set-password'],
    params: '<username>',
    takes: 'words',
    summary: "replace a password and end the user's sessions",
    run: userVerb(
      async (deps, name) => setPassword(deps, name, await readPassword('New password: ')),
      (shown) => `password set for ${shown}; their sessions have ended`,
    ),
  },
  {
    words: ['user', 'disable'],
    params: '<username>',
    takes: 'words',
    summary: "block sign-in and end the user's sessions",
    run: userVerb(
      (deps, name) => setDisabled(deps, name, true),
      (shown) => `disabled ${shown}; sessions ended`,
    ),
  },
  {
    words: ['user', 'enable'],
    params: '<username>',
    takes: 'words',
    summary: 'allow sign-in again',
    run: userVerb(
      (deps, name) => setDisabled(deps, name, false),
      (shown) => `enabled ${shown}`,
    ),
  },
  {
    words: ['user', 'delete'],
    params: '<username>',
    takes: 'words',
    summary: 'delete a user and their sessions',
    run: userVerb(removeUser, (shown) => `deleted ${shown}`),
  },
  { words: ['user', 'list'], params: '', takes: 'words', summary: 'list users', run: printUsers() },
  {
    words: ['user', 'reset-mfa'],
    params: '<username>',
    takes: 'words',
    summary: "remove a user's second factor and end their sessions",
    run: userVerb(
      resetSecondFactor,
      (shown, removed) =>
        `${removed ? 'second factor removed' : 'no second factor was set'} for ${shown}; their sessions have ended`,
    ),
  },
  {
    words: ['sessions', 'revoke'],
    params: '<username>',
    takes: 'words',
    summary: 'end every session of a user',
    run: userVerb(revokeAllSessions, (shown, count) => `revoked ${count} session(s) of ${shown}`),
  },
  {
    words: ['mfa', 'rewrap'],
    params: '',
    takes: 'words',
    summary: 're-seal every TOTP secret with the current MFA key',
    run: (_args, out) =>
      withDeps(async (deps) => {
        const { resealed, unreadable } = await resealSecrets(deps);
        out(`re-sealed ${resealed} TOTP secret(s) with the current key`);
        if (unreadable > 0) {
          throw new CliError(
            `${unreadable} secret(s) open with no configured key; keep the old key`,
          );
        }
      }),
  },
  {
    words: ['keys', 'generate'],
    params: '',
    takes: 'words',
    summary: 'print a new random JWT_SECRET',
    run: (_args, out) => Promise.resolve(out(randomBytes(32).toString('base64url'))),
  },
  {
    words: ['audit'],
    params: '[--user NAME] [--since ISO-DATE|30m|24h|7d] [--limit N]',
    takes: 'flags',
    summary: 'print security events',
    run: printAudit(),
  },
];

/** The synopsis column is 32 wide, with at least three spaces before the summary. */
function usageLine(command: Command): string {
  const synopsis = [...command.words, command.params].filter(Boolean).join(' ');
  return `  ${synopsis.padEnd(Math.max(32, synopsis.length + 3))}${command.summary}`;
}

export const USAGE = ['usage: pnpm latchkey <command>', ...COMMANDS.map(usageLine)].join('\n');

/** The command `args` name, with the arguments that follow its words; null if none fits. */
function commandFor(args: string[]): { command: Command; rest: string[] } | null {
  for (const command of COMMANDS) {
    if (!command.words.every((word, i) => args[i] === word)) continue;
    const rest = args.slice(command.words.length);
    const arity = command.params.split(' ').filter((p) => p.startsWith('<')).length;
    if (command.takes === 'flags' || rest.length === arity) return { command, rest };
  }
  return null;
}

export async function run(args: string[], out: Out): Promise<void> {
  const found = commandFor(args);
  if (found) return found.command.run(found.rest, out);
  throw new CliError(
    args.length === 0 ? USAGE : `unknown command: ${args.join(' ')} (run pnpm latchkey for usage)`,
  );
}

import { DataDirLockedError } from '@latchkey/db';
import { ConfigError } from '../config.ts';
import { CliError, run } from './commands.ts';

/** Exit 0 on success; otherwise one line on stderr (never a stack trace) and exit 1. */
run(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
  () => process.exit(0),
  (error: unknown) => {
    const message =
      error instanceof CliError ||
      error instanceof ConfigError ||
      error instanceof DataDirLockedError
        ? error.message
        : `failed: ${(error as Error).message?.split('\n')[0] ?? 'unknown error'}`;
    process.stderr.write(`latchkey: ${message}\n`);
    process.exit(1);
  },
);

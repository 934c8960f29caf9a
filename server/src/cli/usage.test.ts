import { describe, expect, it } from 'vitest';
import { CliError, COMMANDS, run, USAGE } from './commands.ts';

const noOutput = () => {
  throw new Error('nothing should be printed');
};

describe('the command table', () => {
  it('gives each command one usage line, its summary in the column', () => {
    const lines = USAGE.split('\n');
    expect(lines[0]).toBe('usage: pnpm latchkey <command>');
    expect(lines).toHaveLength(COMMANDS.length + 1);
    COMMANDS.forEach((command, i) => {
      const line = lines[i + 1] ?? '';
      expect(line.startsWith(`  ${command.words.join(' ')}`)).toBe(true);
      expect(line.endsWith(`   ${command.summary}`)).toBe(true);
      if (line.length - command.summary.length <= 34)
        expect(line.indexOf(command.summary)).toBe(34);
    });
  });

  it('prints the usage for no command and refuses words it does not know', async () => {
    await expect(run([], noOutput)).rejects.toEqual(new CliError(USAGE));
    for (const args of [
      ['user', 'list', 'extra'],
      ['user', 'create'],
      ['user', 'rename', 'x'],
    ]) {
      await expect(run(args, noOutput)).rejects.toThrow(
        `unknown command: ${args.join(' ')} (run pnpm latchkey for usage)`,
      );
    }
  });
});

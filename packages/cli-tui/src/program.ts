import { Command, CommanderError } from 'commander';
import { ExitCode } from './exit-codes.js';
import { VERSION } from './version.js';

/** Builds the `crypto-anomaly` command; subcommands are added here as they land. */
export function createProgram(): Command {
  const program = new Command('crypto-anomaly')
    .description('Find anomalies in cryptocurrency markets: Binance klines in, explained anomalies out.')
    .version(VERSION, '-v, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help')
    .showHelpAfterError('(run crypto-anomaly --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly --help       this text
  crypto-anomaly --version    the installed version`,
    );
  return program;
}

/** Runs the command line and returns the exit code instead of exiting, so tests can call it. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram().exitOverride();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return ExitCode.success;
  } catch (error) {
    if (error instanceof CommanderError) {
      const clean = error.code === 'commander.helpDisplayed' || error.code === 'commander.version';
      return clean || error.exitCode === 0 ? ExitCode.success : ExitCode.usageError;
    }
    throw error;
  }
}

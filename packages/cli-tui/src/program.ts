import { Command, CommanderError } from 'commander';
import { addModelsCommand } from './bus/models-command.js';
import type { CommandContext } from './command-context.js';
import { addDetectCommand } from './commands/detect.js';
import { addEvaluateCommand } from './commands/evaluate.js';
import { addFetchCommand } from './commands/fetch.js';
import { addIngestCommand } from './commands/ingest.js';
import { addInitCommand } from './commands/init.js';
import { addReportCommand } from './commands/report.js';
import { addRunCommand } from './commands/run.js';
import { addScoreCommand } from './commands/score.js';
import { addSinkCommand } from './commands/sink.js';
import { addTrainCommand } from './commands/train.js';
import { addWatchCommand } from './commands/watch.js';
import { addWorkerCommand } from './commands/worker.js';
import { addCompletionCommand } from './completion.js';
import { findConfig } from './config.js';
import { describeFailure, isCliError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { expandHome } from './home.js';
import { owedLegacyStoreNote } from './sources.js';
import { VERSION } from './version.js';

// Re-exported for the package's index and callers that took it from here; commands import the leaf.
export type { CommandContext } from './command-context.js';

/**
 * Streams the reader has gone from: `crypto-anomaly run | head -2` closes stdout after two lines.
 * A closed stream only stops the printing; the work goes on, writes its files and exits 0.
 */
const closedStreams = new WeakSet<NodeJS.WriteStream>();
const watchedStreams = new WeakSet<NodeJS.WriteStream>();

function writeLine(stream: NodeJS.WriteStream, line: string): void {
  if (closedStreams.has(stream) || stream.destroyed) return;
  if (!watchedStreams.has(stream)) {
    // EPIPE (and any other write failure) arrives as an 'error' event, fatal when nobody listens.
    watchedStreams.add(stream);
    stream.on('error', () => closedStreams.add(stream));
  }
  stream.write(`${line}\n`);
}

export const processContext: CommandContext = {
  out: (line) => writeLine(process.stdout, line),
  err: (line) => writeLine(process.stderr, line),
  width: () => (process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 100),
};

/**
 * Builds the `crypto-anomaly` command with its subcommands. Parse errors throw a
 * `CommanderError` (exitOverride) instead of exiting, so `main` maps them to exit codes.
 */
export function createProgram(context: CommandContext = processContext): Command {
  const program = new Command('crypto-anomaly')
    .description('Find anomalies in cryptocurrency markets: Binance klines in, explained anomalies out.')
    .version(VERSION, '-v, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .option('--verbose', 'print stack traces with errors')
    .option('--no-color', 'no colours, the dashboards included (as the NO_COLOR variable does)')
    .configureOutput({
      writeOut: (text) => context.out(text.replace(/\n$/, '')),
      writeErr: (text) => context.err(text.replace(/\n$/, '')),
    })
    .showHelpAfterError('(run crypto-anomaly --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly run                          the whole pipeline on the bundled sample market
  crypto-anomaly fetch --symbol BTCUSDT --interval 1h --since 2024-01-01
  crypto-anomaly run --source store --symbol BTCUSDT --interval 1h --since 2024-01-01
  crypto-anomaly score --detector isolation-forest --input data.csv --out scored.csv
  crypto-anomaly report output/               print a finished run's summary
  crypto-anomaly evaluate output/ --labels sample   score a run's anomalies against labels
  crypto-anomaly init                         a commented starting config, read from then on
  source <(crypto-anomaly completion bash)    shell completion (bash, zsh or fish)
  crypto-anomaly <command> --help             each command's options and examples

Scripts: --json on run, train, detect, score, fetch, evaluate, report (one document on stdout;
people's lines on stderr) and watch (JSON lines). NO_COLOR=1 or --no-color: no colour, the dashboards included.

Keys on the dashboard: q quit (stops cleanly), tab or arrows switch panes, l log scale.
Exit codes: 0 success, 1 runtime failure (or q), 2 usage error, 130 Ctrl+C / SIGINT, 143 SIGTERM.`,
    );
  const sources = ['sample', 'binance', 'csv', 'store'] as const;
  addRunCommand(program, context, sources);
  addFetchCommand(program, context);
  addTrainCommand(program, context, sources);
  addDetectCommand(program, context, sources);
  addScoreCommand(program, context);
  addReportCommand(program, context);
  addEvaluateCommand(program, context);
  addWatchCommand(program, context);
  addIngestCommand(program, context);
  addWorkerCommand(program, context);
  addModelsCommand(program, context);
  addSinkCommand(program, context);
  addInitCommand(program, context);
  addCompletionCommand(program, context);
  // Each subcommand's usage errors end with its own usage line rather than the program's.
  for (const command of program.commands) {
    command.exitOverride();
    command.showHelpAfterError(`(usage: crypto-anomaly ${command.name()} ${command.usage()}; see --help)`);
  }
  return program;
}

/**
 * Without --config, a command that reads one takes the first found of `configSearchPaths` (the
 * working folder's crypto-anomaly.config.json, then the XDG config folder's), and says which.
 */
function useFoundConfig(command: Command, context: CommandContext): void {
  if (!command.options.some((option) => option.long === '--config')) return;
  if (command.getOptionValue('config') !== undefined) return;
  const found = findConfig();
  if (!found) return;
  command.setOptionValueWithSource('config', found, 'default');
  context.err(`note: using the config file ${found} (--config FILE to use another)`);
}

/**
 * `~` and `~/…` at the start of an option's value, as a shell would have expanded them: `--out=~/x`
 * and a quoted "~/x" reach the program unexpanded, and would make a folder named `~` in the
 * working folder (which `rm -rf ~` would then "clean up").
 */
function expandHomeInOptions(command: Command): void {
  for (const [key, value] of Object.entries(command.opts())) {
    if (typeof value === 'string' && /^~(\/|$)/.test(value)) {
      command.setOptionValueWithSource(key, expandHome(value), command.getOptionValueSource(key) ?? 'cli');
    }
  }
}

/** Runs the command line and returns the exit code instead of exiting, so tests can call it. */
export async function main(
  argv: readonly string[],
  context: CommandContext = processContext,
): Promise<number> {
  const program = createProgram(context);
  let active: Command = program;
  program.hook('preAction', (_program, actionCommand) => {
    active = actionCommand;
    expandHomeInOptions(actionCommand);
    useFoundConfig(actionCommand, context);
    owedLegacyStoreNote(actionCommand);
  });
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return ExitCode.success;
  } catch (error) {
    if (error instanceof CommanderError) {
      const clean = error.code === 'commander.helpDisplayed' || error.code === 'commander.version';
      return clean || error.exitCode === 0 ? ExitCode.success : ExitCode.usageError;
    }
    const verbose = program.opts<{ verbose?: boolean }>().verbose === true;
    // The cause, a hint naming the flags and the exit code: errors.ts words every error the same way.
    const { cause, hint, exitCode } = describeFailure(error);
    context.err(`error: ${cause}`);
    if (isCliError(error) && error.code === 'USAGE') {
      context.err(`(usage: crypto-anomaly ${commandPath(active, program)}${active.usage()}; see --help)`);
      if (verbose && error.stack) context.err(error.stack);
      return exitCode;
    }
    // A stopped run exits 130 after SIGINT and 143 after SIGTERM (128 + the signal's number), as
    // shells expect; the dashboard's q stops it with 1. A setting or folder a library refused exits 2.
    context.err(`hint: ${hint}`);
    if (verbose) {
      // The error's own stack, then what caused it, as deep as the chain goes.
      for (let link: unknown = error, depth = 0; link !== undefined && depth < 5; depth++) {
        const prefix = depth === 0 ? '' : 'caused by: ';
        context.err(prefix + (link instanceof Error && link.stack ? link.stack : String(link)));
        link = link instanceof Error ? link.cause : undefined;
      }
    }
    return exitCode;
  }
}

/** `models push ` for a subcommand of a subcommand: the names from below the program down to it. */
function commandPath(command: Command, program: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at && at !== program; at = at.parent) names.unshift(at.name());
  return names.map((name) => `${name} `).join('');
}

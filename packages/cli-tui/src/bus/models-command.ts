import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import { CliError, usageError } from '../errors.js';
import { fit, formatCount } from '../format.js';
import { parse } from '../options.js';
import { connectBus, parseBusUrl } from './connection.js';
import { ModelRegistry, marketOfPair, mismatchOf, modelFoldersOf, skippedFolders } from './models.js';

/** `crypto-anomaly models push|list`: model folders into the bus' object store, versioned. */
export function addModelsCommand(program: Command, context: CommandContext): void {
  const models = program.command('models').description('models on the bus (NATS object store), versioned');
  models
    .command('push')
    .description('store model folders on the bus as the next version of each pair; workers switch to it')
    .requiredOption('--bus <url>', 'the NATS server(s): nats://HOST:PORT, a cluster with commas')
    .requiredOption(
      '--model <dir>',
      'DIR/SYMBOL_INTERVAL folders (as train --out writes them), or one model folder',
    )
    .option('--pairs <list>', 'push the model folder --model as these pairs, e.g. BTCUSDT_1m,ETHUSDT_1m')
    .option('--keep <n>', 'versions kept per pair, older ones deleted (default 10)', parse.positiveInteger)
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly models push --bus nats://127.0.0.1:4222 --model models
  crypto-anomaly models push --bus nats://127.0.0.1:4222 --model models/btc --pairs BTCUSDT_1m

Each pair's folder is packed into one object (ca-models object store, BTCUSDT_1m/v3) and
models.BTCUSDT_1m in the ca-models KV bucket points at the new version. Prints one JSON line per
pair: pair, version, bytes. A model trained on another interval or market than the pair it is
pushed as is pushed with a warning.`,
    )
    .action(async (flags: Record<string, unknown>) => {
      const url = parseBusUrl(flags['bus'] as string);
      const pairs =
        typeof flags['pairs'] === 'string'
          ? (flags['pairs'] as string)
              .split(',')
              .map((pair) => pair.trim())
              .filter((pair) => pair !== '')
          : undefined;
      for (const pair of pairs ?? []) {
        if (!marketOfPair(pair))
          throw usageError('--pairs', `${pair} is not SYMBOL_INTERVAL`, 'e.g. BTCUSDT_1m');
      }
      const root = resolve(flags['model'] as string);
      let folders: Map<string, string>;
      try {
        folders = await modelFoldersOf(root, pairs);
      } catch (error) {
        throw new CliError('USAGE', `--model: ${(error as Error).message}`, {
          option: '--model',
          hint: 'name a model folder (train --out) or a folder of SYMBOL_INTERVAL model folders',
        });
      }
      if (folders.size === 0) {
        throw usageError(
          '--model',
          `no SYMBOL_INTERVAL model folder under ${root}`,
          'train one with train --out',
        );
      }
      if (!pairs) for (const skipped of await skippedFolders(root, folders)) context.err(`note: ${skipped}`);
      for (const [pair, folder] of folders) {
        const mismatch = await mismatchOf(pair, folder);
        if (mismatch) context.err(`warning: ${mismatch}`);
      }
      const bus = await connectBus(url, 'crypto-anomaly models push');
      try {
        const registry = await ModelRegistry.open(bus);
        for (const [pair, folder] of folders) {
          const pointer = await registry.push(
            pair,
            folder,
            `${hostname()}-${process.pid}`,
            (flags['keep'] as number | undefined) ?? 10,
          );
          context.err(`${pair}: ${folder} stored as v${pointer.version} (${pointer.bytes} bytes)`);
          context.out(JSON.stringify({ pair, version: pointer.version, bytes: pointer.bytes }));
        }
      } finally {
        await bus.close();
      }
    });
  models
    .command('list')
    .description("each pair's latest model version on the bus, and the versions kept")
    .requiredOption('--bus <url>', 'the NATS server(s): nats://HOST:PORT, a cluster with commas')
    .option('--json', 'one JSON document on stdout: the pairs, each with its latest version and those kept')
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly models list --bus nats://127.0.0.1:4222
  crypto-anomaly models list --bus nats://127.0.0.1:4222 --json | jq -r '.models[].pair'`,
    )
    .action(async (flags: Record<string, unknown>) => {
      const url = parseBusUrl(flags['bus'] as string);
      const bus = await connectBus(url, 'crypto-anomaly models list');
      try {
        const listed = await (await ModelRegistry.open(bus)).list();
        if (flags['json'] === true) {
          const models = listed.map(({ pointer, versions }) => ({ ...pointer, kept: versions }));
          context.out(JSON.stringify({ command: 'models list', models }));
          return;
        }
        if (listed.length === 0) {
          context.out('no model on the bus yet: crypto-anomaly models push, or train --bus, stores one');
          return;
        }
        const rows = listed.map(({ pointer, versions }) => [
          pointer.pair,
          `v${pointer.version}`,
          formatCount(pointer.bytes),
          new Date(pointer.pushedAt).toISOString().slice(0, 19).replace('T', ' '),
          pointer.pushedBy,
          versions.length === 0 ? '-' : versions.map((v) => `v${v}`).join(' '),
        ]);
        const head = ['pair', 'latest', 'bytes', 'pushed (UTC)', 'by', 'kept'];
        const widths = head.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
        for (const row of [head, ...rows]) {
          context.out(
            row
              .map((cell, i) => fit(cell, widths[i]!, i === 2 ? 'right' : 'left'))
              .join('  ')
              .trimEnd(),
          );
        }
      } finally {
        await bus.close();
      }
    });
}

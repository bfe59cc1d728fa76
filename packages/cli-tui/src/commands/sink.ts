import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { parseBusUrl } from '../bus/connection.js';
import { runSink, type SinkSettings } from '../bus/sink.js';
import type { CommandContext } from '../command-context.js';
import { usageError } from '../errors.js';
import { parse } from '../options.js';

/** `crypto-anomaly sink`: the bus' alerts to a file or a webhook, each alert once. */
export function addSinkCommand(program: Command, context: CommandContext): void {
  program
    .command('sink')
    .description('deliver the alerts of the bus (NATS JetStream) to a file or a webhook, each alert once')
    .requiredOption('--bus <url>', 'the NATS server(s): nats://HOST:PORT, a cluster with commas')
    .option('--alerts-file <file>', 'append each alert to FILE as a JSON line (never one id twice)')
    .option(
      '--webhook <url>',
      'POST each alert as JSON over https (Idempotency-Key: the alert id)',
      parse.webhookUrl,
    )
    .option(
      '--name <name>',
      "the sink's durable consumer is sink-NAME: a restart resumes it (default from the file's path and this machine, or the webhook's URL)",
    )
    .addOption(
      new Option(
        '--from <where>',
        'a new sink starts at: all (the alerts the stream holds, default) or new',
      ).choices(['all', 'new']),
    )
    .option(
      '--symbols <pair>',
      'only this pair (default all), e.g. BTCUSDT (one per sink on nats-server 2.9)',
    )
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly sink --bus nats://127.0.0.1:4222 --alerts-file alerts.jsonl
  crypto-anomaly sink --bus nats://127.0.0.1:4222 --webhook https://example.com/hook --name ops

Each sink is a durable consumer of the ALERTS stream: an alert is acknowledged only once written
(or answered 2xx), so a sink killed and restarted loses none; the ids already in the file are
skipped, so none is written twice. Ends with one JSON line on stdout: alerts delivered.`,
    )
    .action(async (flags: Record<string, unknown>) => {
      await runSink(sinkSettingsOf(flags), context);
    });
}

export function sinkSettingsOf(flags: Record<string, unknown>): SinkSettings {
  const bus = parseBusUrl(flags['bus'] as string);
  const file = flags['alertsFile'] as string | undefined;
  const webhook = flags['webhook'] as string | undefined;
  if ((file === undefined) === (webhook === undefined)) {
    throw usageError(
      '--alerts-file',
      'name one target: --alerts-file FILE or --webhook URL',
      'run one sink per target, each with its own --name',
    );
  }
  const symbols =
    typeof flags['symbols'] === 'string'
      ? (flags['symbols'] as string)
          .split(',')
          .map((symbol) => symbol.trim().toUpperCase())
          .filter((symbol) => symbol !== '')
      : [];
  if (symbols.length > 1) {
    throw usageError('--symbols', 'one pair per sink on nats-server 2.9 (one filter subject)', 'or drop it');
  }
  // The default name tells targets apart: a file by its whole path on this machine (two files
  // named alerts.jsonl, or one path on two machines, each get every alert), a webhook by its URL.
  const fingerprint = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 8);
  const fallback = file
    ? `file-${basename(file)}-${fingerprint(`${hostname()}:${resolve(file)}`)}`
    : `webhook-${new URL(webhook!).host}-${fingerprint(webhook!)}`;
  const name = ((flags['name'] as string | undefined) ?? fallback).replace(/[^A-Za-z0-9_-]/g, '_');
  return {
    bus,
    name,
    target: file ? { kind: 'file', path: resolve(file) } : { kind: 'webhook', url: webhook! },
    from: (flags['from'] as 'all' | 'new' | undefined) ?? 'all',
    filter: symbols.length === 1 ? `alerts.*.${symbols[0]}` : 'alerts.>',
  };
}

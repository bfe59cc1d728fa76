import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import {
  CONTAMINATION_RULE,
  configKeyPath,
  describeConfigIssues,
  isContamination,
  pipelineConfigSchema,
} from '@crypto-anomaly/core';
import { INTERVALS } from '@crypto-anomaly/data';
import { z } from 'zod';
import { CliError } from './errors.js';
import { expandHome } from './home.js';

const positiveInteger = z.number().int().positive();
const nonNegativeInteger = z.number().int().nonnegative();
const dateInput = z.union([z.string().min(1), z.number().int().nonnegative()]);
/** An http(s) URL without a login in it (it would be neither sent nor kept secret). */
const httpUrl = z.url().refine((value) => /^https?:\/\//i.test(value) && !/^[a-z]+:\/\/[^/]*@/i.test(value), {
  message: 'expected an http:// or https:// URL without a user or password in it',
});
/** The engine's own rule (core's `isContamination`), not a second copy that could disagree. */
const contamination = z.number().refine(isContamination, `must be ${CONTAMINATION_RULE}`);

/** What `score --detector` and the config's `score.detector` name. */
export const SCORE_DETECTORS = ['isolation-forest', 'autoencoder', 'attention', 'consensus'] as const;
export type ScoreDetector = (typeof SCORE_DETECTORS)[number];
/** `iforest`, the earlier spelling, is still accepted and read as `isolation-forest`. */
const scoreDetector = z
  .enum([...SCORE_DETECTORS, 'iforest'])
  .transform((name): ScoreDetector => (name === 'iforest' ? 'isolation-forest' : name));

/** The JSON config file: every flag by its long name (camelCase), plus `pipeline` and `score`. */
export const configFileSchema = z.strictObject({
  $schema: z.string().optional(),
  source: z.enum(['sample', 'binance', 'csv']).optional(),
  input: z.string().min(1).optional(),
  symbol: z
    .string()
    .regex(/^[A-Z0-9]{2,20}$/, 'a Binance symbol in capitals, e.g. BTCUSDT')
    .optional(),
  interval: z.enum(INTERVALS).optional(),
  since: dateInput.optional(),
  until: dateInput.optional(),
  out: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  /** train: also write the run outputs there. */
  outputs: z.string().min(1).optional(),
  /** fetch: export the range to this CSV. */
  csv: z.string().min(1).optional(),
  epochs: positiveInteger.optional(),
  seed: nonNegativeInteger.optional(),
  backend: z.enum(['auto', 'wasm', 'node', 'cpu']).optional(),
  tui: z.boolean().optional(),
  charts: z.boolean().optional(),
  store: z.string().min(1).optional(),
  baseUrl: httpUrl.optional(),
  archive: z.boolean().optional(),
  archiveBaseUrl: httpUrl.optional(),
  /** fetch: deadline of one request, in seconds. */
  requestTimeout: z.number().positive().optional(),
  /** fetch: the limit for the whole fetch, in seconds. */
  giveUpAfter: z.number().positive().optional(),
  /** Accept gaps (missing candles) in the loaded range, as --allow-gaps does. */
  allowGaps: z.boolean().optional(),
  sample: z
    .strictObject({ seed: nonNegativeInteger, count: positiveInteger, start: dateInput })
    .partial()
    .optional(),
  /** Settings of the engine, passed to it as `config`: core's own schema, the one it checks calls with. */
  pipeline: pipelineConfigSchema.optional(),
  score: z
    .strictObject({
      detector: scoreDetector,
      columns: z.array(z.string().min(1)).min(1),
      exclude: z.array(z.string().min(1)),
      trees: positiveInteger,
      maxSamples: positiveInteger,
      extensionLevel: nonNegativeInteger,
      contamination: z.union([z.literal('auto'), contamination]),
      fitRows: positiveInteger,
    })
    .partial()
    .optional(),
});

export type ConfigFile = z.infer<typeof configFileSchema>;

/** Validates parsed JSON as a config file; the error names each wrong key by its path. */
export function parseConfig(value: unknown, file = 'the config file'): ConfigFile {
  const result = configFileSchema.safeParse(value, { reportInput: true });
  if (result.success) return withHomeExpanded(result.data) as ConfigFile;
  // Core's wording, so a wrong `pipeline` key reads as it does from a library call.
  // A URL's value is not echoed: a login in it is a secret.
  const issues = result.error.issues.map((issue) =>
    /url$/i.test(String(issue.path.at(-1) ?? '')) ? { ...issue, input: undefined } : issue,
  );
  const problems = describeConfigIssues(configFileSchema, issues);
  const first = result.error.issues[0];
  return failConfig(
    file,
    problems.join('; '),
    first && first.path.length > 0 ? configKeyPath(first.path) : undefined,
  );
}

/** A config's string values (paths among them) with a leading `~/` expanded, as a shell would. */
function withHomeExpanded(value: unknown): unknown {
  if (typeof value === 'string') return expandHome(value);
  if (Array.isArray(value)) return value.map(withHomeExpanded);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, withHomeExpanded(entry)]));
  }
  return value;
}

function failConfig(file: string, problem: string, key?: string): never {
  throw new CliError('USAGE', `--config ${file}: ${problem}`, {
    option: key ? `--config (${key})` : '--config',
    hint: 'fix the key named above; the format is in the cli-tui README ("Config file")',
  });
}

/** The config file's name in the working folder. */
export const CONFIG_FILE_NAME = 'crypto-anomaly.config.json';

/**
 * Where a config file is looked for without --config: `crypto-anomaly.config.json` in the working
 * folder, then `$XDG_CONFIG_HOME/crypto-anomaly/config.json` (`~/.config` when XDG_CONFIG_HOME is
 * unset or relative, as the XDG spec says).
 */
export function configSearchPaths(
  cwd: string = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const configHome =
    env['XDG_CONFIG_HOME'] && isAbsolute(env['XDG_CONFIG_HOME'])
      ? env['XDG_CONFIG_HOME']
      : join(env['HOME'] || homedir(), '.config');
  return [join(cwd, CONFIG_FILE_NAME), join(configHome, 'crypto-anomaly', 'config.json')];
}

/** The first config file of `configSearchPaths` that exists, if any. */
export function findConfig(cwd?: string, env?: NodeJS.ProcessEnv): string | undefined {
  return configSearchPaths(cwd, env).find((path) => existsSync(path));
}

/**
 * JSON with comments, as `crypto-anomaly init` writes it (and tsconfig.json allows): `// line` and
 * `/* block *\/` comments outside strings are blanked (lengths kept, so JSON.parse's positions
 * still point into the file).
 */
export function stripJsonComments(text: string): string {
  let result = '';
  let i = 0;
  while (i < text.length) {
    const character = text[i]!;
    if (character === '"') {
      // A string, escapes included, copied as it is.
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      result += text.slice(i, end + 1);
      i = end + 1;
    } else if (character === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      result += ' '.repeat(stop - i);
      i = stop;
    } else if (character === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      result += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      result += character;
      i += 1;
    }
  }
  return result;
}

/** Reads and validates a config file: JSON, comments allowed (see `stripJsonComments`). */
export async function loadConfig(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return failConfig(path, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(error)})`);
  }
  let json: unknown;
  try {
    // A byte-order mark (Windows editors write one) is not JSON, and invisible in the message.
    json = JSON.parse(stripJsonComments(text.replace(/^\uFEFF/, '')));
  } catch (error) {
    return failConfig(path, `is not valid JSON (${(error as Error).message})`);
  }
  return parseConfig(json, path);
}

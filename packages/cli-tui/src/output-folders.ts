import { resolve } from 'node:path';
import type { FolderKind, PartialRun } from '@crypto-anomaly/core';
import { CliError, usageError } from './errors.js';
import type { Reporter } from './reporter.js';

/**
 * The folders run, train and detect write, checked before any work: the engine only replaces a
 * folder that is absent, empty or one it wrote (its `.crypto-anomaly.json` marker), and never two
 * that overlap. Each refusal is a usage error naming the flag.
 */

/** What the CLI needs of the engine to check folders (core's own functions). */
interface FolderChecks {
  assertSeparateFolders(mode: 'train' | 'detect', outDir: string, modelDir: string): void;
  prepareTarget(dir: string, kind: FolderKind): Promise<string>;
}

/** The engine's overlap rule (its only refusal is `INVALID_ARGUMENT`), worded with the flags. */
function separate(
  core: FolderChecks,
  mode: 'train' | 'detect',
  outDir: string,
  modelDir: string,
  refuse: () => CliError,
): void {
  try {
    core.assertSeparateFolders(mode, outDir, modelDir);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'INVALID_ARGUMENT') throw refuse();
    throw error;
  }
}

/**
 * `train --out MODEL --outputs DIR`: refuses the same folder, or one inside the other, except the
 * default nesting `DIR/model`, which is written as part of DIR's set.
 */
export function assertModelAndOutputsApart(
  core: FolderChecks,
  modelDir: string,
  outputs: string | undefined,
): void {
  if (outputs === undefined) return;
  const [model, out] = [resolve(modelDir), resolve(outputs)];
  separate(core, 'train', out, model, () =>
    usageError(
      '--outputs',
      `${out} overlaps --out ${model}: the outputs would replace the model or the reverse`,
      'give two separate folders, e.g. --out models/btc --outputs runs/btc, or --out runs/btc/model --outputs runs/btc',
    ),
  );
}

/** `detect --model MODEL --out DIR`: DIR must neither hold MODEL (it would replace it) nor sit inside it. */
export function assertOutputsApartFromModel(core: FolderChecks, outDir: string, modelDir: string): void {
  separate(core, 'detect', outDir, modelDir, () =>
    usageError(
      '--out',
      `${resolve(outDir)} overlaps the model ${resolve(modelDir)}: writing the outputs there would replace the model being read`,
      'write the outputs to another folder, e.g. --out runs/detect',
    ),
  );
}

/**
 * Asks the engine whether each folder may be written (`prepareTarget`: absent, empty or ours,
 * and creatable); its refusals become usage errors naming the flag. Also repairs what a killed
 * run left beside the folder.
 */
export async function checkTargets(
  core: Pick<FolderChecks, 'prepareTarget'>,
  targets: readonly { option: string; dir: string; kind: FolderKind }[],
): Promise<void> {
  for (const { option, dir, kind } of targets) {
    try {
      await core.prepareTarget(dir, kind);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'TARGET_NOT_OURS' && code !== 'TARGET_NOT_WRITABLE') throw error;
      throw usageError(
        option,
        (error as Error).message,
        code === 'TARGET_NOT_OURS'
          ? `give ${option} a new or empty folder; crypto-anomaly replaces only folders it wrote`
          : `give ${option} a folder you can write to`,
      );
    }
  }
}

/**
 * A run stopped by q, Ctrl+C or a signal that kept the detectors that finished: says so, and
 * returns the STOPPED error the command ends with (exit 1 for q).
 */
export function partialStop(
  reporter: Reporter,
  where: string,
  partial: PartialRun,
  marker: string,
): CliError {
  const missing = partial.missingDetectors;
  const text =
    `kept a partial run in ${where} (marked partial in ${marker}` +
    `${missing.length > 0 ? `; not trained: ${missing.join(', ')}` : ''}` +
    `${partial.chartsSkipped ? '; no charts' : ''})`;
  reporter.line(`Stopped early: ${text}`);
  return new CliError('STOPPED', `stopped before the end; ${text}`, {
    hint: 'run again without stopping to train every detector and draw the charts',
  });
}

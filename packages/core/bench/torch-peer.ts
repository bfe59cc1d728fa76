/**
 * A PyTorch peer process that trains one epoch when asked and waits between epochs, so a bench can
 * alternate its TF.js epochs with PyTorch's (both then see the same machine load). The requests go
 * through two named pipes and block, so a synchronous callback (a fit's `onEvent`) can make them.
 *
 * The Python side reads "epoch N" lines from its commands pipe and writes one JSON line per epoch
 * to its results pipe ({wallMs, cpuMs, loss}); its first line is a header of its own; "quit" ends it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface TorchEpoch {
  wallMs: number;
  cpuMs: number;
  loss: number;
}

export class TorchPeer<Header> {
  /** The first line the peer wrote. */
  readonly header: Header;
  private readonly commands: number;
  private readonly results: number;
  private readonly process: ChildProcess;
  private pending = '';

  /** Starts `/usr/bin/python3 script ...args COMMANDS RESULTS` with its pipes in `directory`. */
  constructor(script: string, args: string[], directory: string) {
    const commandsPath = join(directory, 'commands');
    const resultsPath = join(directory, 'results');
    for (const path of [commandsPath, resultsPath]) {
      const made = spawnSync('mkfifo', [path], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`mkfifo ${path} failed: ${made.stderr}`);
    }
    this.process = spawn('/usr/bin/python3', [script, ...args, commandsPath, resultsPath], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    // Opening blocks until Python opens the other end (it opens commands first, then results).
    this.commands = openSync(commandsPath, 'w');
    this.results = openSync(resultsPath, 'r');
    this.header = JSON.parse(this.readLine()) as Header;
  }

  /** Runs PyTorch's epoch `epoch` (1-based) and waits for it. */
  epoch(epoch: number): TorchEpoch {
    writeSync(this.commands, `epoch ${epoch}\n`);
    return JSON.parse(this.readLine()) as TorchEpoch;
  }

  async close(): Promise<void> {
    const exited =
      this.process.exitCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => this.process.once('exit', resolve));
    writeSync(this.commands, 'quit\n');
    closeSync(this.commands);
    closeSync(this.results);
    await exited;
  }

  private readLine(): string {
    const buffer = Buffer.alloc(4096);
    while (!this.pending.includes('\n')) {
      const read = readSync(this.results, buffer, 0, buffer.length, null);
      if (read === 0) throw new Error('the PyTorch bench ended early (see its error above)');
      this.pending += buffer.toString('utf8', 0, read);
    }
    const end = this.pending.indexOf('\n');
    const line = this.pending.slice(0, end);
    this.pending = this.pending.slice(end + 1);
    return line;
  }
}

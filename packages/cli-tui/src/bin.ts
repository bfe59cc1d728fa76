#!/usr/bin/env node
import { ExitCode } from './exit-codes.js';
import { main } from './program.js';

const code = await main(process.argv.slice(2));
// A run stopped by a signal (130 / 143) exits now: a worker or a timer left behind must not keep
// the process alive. Work that never stops is ended by the signal itself (see withStopSignals).
if (code === ExitCode.interrupted || code === ExitCode.terminated) process.exit(code);
process.exitCode = code;

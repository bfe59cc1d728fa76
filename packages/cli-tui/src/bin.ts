#!/usr/bin/env node
import { ExitCode } from './exit-codes.js';
import { main } from './program.js';

// NO_COLOR (https://no-color.org: set and not empty) or --no-color: no colour anywhere, the
// dashboards included. Ink colours through chalk, which reads FORCE_COLOR when it loads (lazily,
// with the dashboard), so setting it here reaches every screen without touching a component.
const argv = process.argv.slice(2);
if ((process.env['NO_COLOR'] ?? '') !== '' || argv.includes('--no-color')) process.env['FORCE_COLOR'] = '0';

const code = await main(argv);
// A run stopped by a signal (130 / 143) exits now: a worker or a timer left behind must not keep
// the process alive. Work that never stops is ended by the signal itself (see withStopSignals).
if (code === ExitCode.interrupted || code === ExitCode.terminated) process.exit(code);
process.exitCode = code;

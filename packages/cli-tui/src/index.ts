export { ExitCode } from './exit-codes.js';
export { createProgram, main } from './program.js';
export { VERSION } from './version.js';

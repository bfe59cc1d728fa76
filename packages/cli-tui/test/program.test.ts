import { describe, expect, it, vi } from 'vitest';
import { ExitCode, main } from '../src/index.js';

describe('main', () => {
  it('returns the usage-error code for an unknown command, without exiting the process', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['no-such-command'])).toBe(ExitCode.usageError);
      expect(stderr.mock.calls.map((call) => String(call[0])).join('')).toMatch(
        /too many arguments|unknown command/,
      );
    } finally {
      stderr.mockRestore();
    }
  });
});

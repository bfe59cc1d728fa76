import { describe, expect, it } from 'vitest';
import { IsolationForest, isKernelError, KernelError } from '../src/index.js';

describe('KernelError', () => {
  it('keeps the error it wraps as an ES2022 cause', () => {
    const low = new RangeError('low-level');
    const error = new KernelError('INVALID_MODEL', 'wrapped', { cause: low });
    expect(error.cause).toBe(low);
    expect(error.code).toBe('INVALID_MODEL');
    expect(error.name).toBe('KernelError');
    expect(error.message).toBe('wrapped');
    expect(error).toBeInstanceOf(Error);
    // Without the option there is no cause property at all (as Error itself).
    expect('cause' in new KernelError('EMPTY_INPUT', 'no cause')).toBe(false);
  });

  it('isKernelError tells a KernelError from look-alikes', () => {
    expect(isKernelError(new KernelError('NOT_FITTED', 'x'))).toBe(true);
    expect(isKernelError(new Error('x'))).toBe(false);
    expect(isKernelError({ name: 'KernelError', code: 'NOT_FITTED', message: 'x' })).toBe(false);
    expect(isKernelError(undefined)).toBe(false);
  });

  it('a saved forest that is not JSON is refused with the parser error as cause', () => {
    let caught: unknown;
    try {
      IsolationForest.fromJSON('{ not json');
    } catch (error) {
      caught = error;
    }
    expect(isKernelError(caught) && caught.code).toBe('INVALID_MODEL');
    expect((caught as KernelError).cause).toBeInstanceOf(SyntaxError);
  });
});

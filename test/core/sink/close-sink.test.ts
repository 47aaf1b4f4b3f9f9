/**
 * closeSink: the end of every handler's invocation. A failed close is logged as a warning
 * naming the error, and never thrown over the invocation's own result.
 */
import { closeSink } from '../../../functions/core/sink/close-sink';
import type { Sink } from '../../../functions/core/sink/sink';

function recordingLogger() {
  const warnings: { message: string; fields: unknown }[] = [];
  return { warnings, warn: (message: string, fields?: unknown) => void warnings.push({ message, fields }) };
}

const sinkWith = (close?: () => Promise<void>): Sink => ({ send: async () => ({ attempts: 1, errors: 0, bytesSent: 0 }), close });

describe('closeSink', () => {
  it('closes the sink and logs nothing when the close succeeds', async () => {
    const logger = recordingLogger();
    let closed = 0;
    await closeSink(sinkWith(async () => void (closed += 1)), logger as never);
    expect(closed).toBe(1);
    expect(logger.warnings).toEqual([]);
  });

  it('does nothing for a sink without close', async () => {
    const logger = recordingLogger();
    await expect(closeSink(sinkWith(undefined), logger as never)).resolves.toBeUndefined();
    expect(logger.warnings).toEqual([]);
  });

  it('logs a rejected close as a warning with its message and code, and resolves', async () => {
    const logger = recordingLogger();
    const err = Object.assign(new Error('socket hang up'), { name: 'ECONNRESET' });
    await expect(closeSink(sinkWith(() => Promise.reject(err)), logger as never)).resolves.toBeUndefined();
    expect(logger.warnings).toEqual([{ message: 'Closing the DNIF sink failed', fields: { error: 'socket hang up', code: 'ECONNRESET' } }]);
  });

  it('catches a close that throws before returning a promise', async () => {
    const logger = recordingLogger();
    const close = () => {
      throw new TypeError('already destroyed');
    };
    await expect(closeSink(sinkWith(close as never), logger as never)).resolves.toBeUndefined();
    expect(logger.warnings[0]?.fields).toEqual({ error: 'already destroyed', code: 'TypeError' });
  });
});

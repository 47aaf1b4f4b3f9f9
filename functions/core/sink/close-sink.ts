import type { Logger } from '@aws-lambda-powertools/logger';
import type { Sink } from './sink';

/**
 * Closes a sink at the end of an invocation. Every batch was confirmed (or failed) inside
 * `send`, so closing only releases what is still open: a failure here loses nothing and is
 * logged as a warning, never thrown over the invocation's own result or error.
 */
export async function closeSink(sink: Sink, logger: Pick<Logger, 'warn'>): Promise<void> {
  if (!sink.close) return;
  try {
    await sink.close();
  } catch (err) {
    logger.warn('Closing the DNIF sink failed', { error: (err as Error)?.message ?? String(err), code: (err as Error)?.name ?? 'Error' });
  }
}

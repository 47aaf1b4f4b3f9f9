/**
 * The audit benchmark's "Lambda": a child process holding the real trail-audit handler, invoked
 * once like Lambda does, reporting its own CPU time, wall time and peak RSS (not the stand-ins').
 * S3, CloudTrail, DynamoDB, Secrets Manager and DNIF are the loopback stand-ins.
 *
 *   parent → { type: 'invoke', timeoutMs }
 *   child  → { type: 'result', summary?, error?, wallMs, cpuUserMs, cpuSystemMs, maxRssMB }
 */
import { resourceUsage } from 'node:process';
import { handler } from '../../functions/trail-audit/handler';
import { lambdaContext, scheduledEvent } from '../../standins/lambda';

export interface AuditInvokeRequest {
  type: 'invoke';
  timeoutMs: number;
}

export interface AuditInvokeResult {
  type: 'result';
  summary?: unknown;
  error?: { name: string; message: string };
  wallMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  maxRssMB: number;
}

process.on('message', async (req: AuditInvokeRequest) => {
  const cpu = process.cpuUsage();
  const started = performance.now();
  let result: Pick<AuditInvokeResult, 'summary' | 'error'>;
  try {
    result = { summary: await handler(scheduledEvent(), lambdaContext(req.timeoutMs, 'trail-audit')) };
  } catch (err) {
    result = { error: { name: (err as Error).name, message: (err as Error).message } };
  }
  const used = process.cpuUsage(cpu);
  const reply: AuditInvokeResult = {
    type: 'result',
    ...result,
    wallMs: Math.round(performance.now() - started),
    cpuUserMs: Math.round(used.user / 1000),
    cpuSystemMs: Math.round(used.system / 1000),
    maxRssMB: Math.round(resourceUsage().maxRSS / 1024),
  };
  process.send?.(reply, () => process.exit(0));
});
process.send?.({ type: 'ready' });

/**
 * ReceiveMessage's output: system attributes and message attributes filtered by the
 * names asked for (`All`, exact names, `prefix.*`), timestamps as epoch-ms strings.
 */
import { md5OfAttributes, type MessageAttributeValue, type StoredMessage } from './sqs-queue';

export interface ReceiveFilter {
  /** Deprecated alias of MessageSystemAttributeNames, still sent by some callers. */
  AttributeNames?: string[];
  MessageSystemAttributeNames?: string[];
  MessageAttributeNames?: string[];
}

function systemAttributes(m: StoredMessage): Record<string, string> {
  const a: Record<string, string> = {
    SenderId: m.senderId,
    SentTimestamp: String(m.sentAt),
    ApproximateReceiveCount: String(m.receiveCount),
    ApproximateFirstReceiveTimestamp: String(m.firstReceiveAt ?? m.sentAt),
  };
  const trace = m.systemAttributes.AWSTraceHeader?.StringValue;
  if (trace !== undefined) a.AWSTraceHeader = trace;
  if (m.deadLetterSourceArn) a.DeadLetterQueueSourceArn = m.deadLetterSourceArn;
  return a;
}

function pick<T>(all: Record<string, T>, names: readonly string[]): Record<string, T> | undefined {
  if (names.length === 0) return undefined;
  const every = names.includes('All') || names.includes('.*');
  const out = Object.fromEntries(
    Object.entries(all).filter(([k]) => every || names.some((n) => (n.endsWith('.*') ? k.startsWith(n.slice(0, -1)) : n === k))),
  );
  return Object.keys(out).length > 0 ? out : undefined;
}

export function receiveOutput(messages: readonly StoredMessage[], f: ReceiveFilter): { Messages?: unknown[] } {
  if (messages.length === 0) return {};
  const systemNames = [...(f.MessageSystemAttributeNames ?? []), ...(f.AttributeNames ?? [])];
  return {
    Messages: messages.map((m) => {
      const attrs = pick<MessageAttributeValue>(m.messageAttributes, f.MessageAttributeNames ?? []);
      return {
        MessageId: m.id,
        ReceiptHandle: m.receipt?.handle,
        MD5OfBody: m.md5OfBody,
        Body: m.body,
        Attributes: pick(systemAttributes(m), systemNames),
        // Over the attributes returned, as SQS computes it.
        MD5OfMessageAttributes: attrs ? md5OfAttributes(attrs) : undefined,
        MessageAttributes: attrs,
      };
    }),
  };
}

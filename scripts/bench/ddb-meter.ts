/**
 * A loopback proxy in front of dynalite that recomputes, independently, what every DynamoDB call
 * of the forwarder costs under DynamoDB's pricing rules, so the capacity the forwarder reports
 * (dynalite's ReturnConsumedCapacity) can be checked:
 *
 *   - item size = Σ (attribute name bytes + value bytes); a string counts its UTF-8 bytes, a
 *     number 1 byte per two significant digits + 1, a set the sum of its elements
 *     (docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)
 *   - a write costs ceil(max(size before, size after) / 1 KB) WCU (1 for a missing item)
 *   - a read costs ceil(size / 4 KB) RCU when strongly consistent, half that when eventually
 *     consistent, charged on the whole item whatever the projection; a missing item costs the
 *     minimum (1 or 0.5). BatchGetItem is priced as one GetItem per key.
 *
 * It mirrors the table's items from the writes it forwards (the benchmark's table starts empty),
 * understanding the expressions the checkpoint store uses: `ADD a :v`, `SET a = :v`.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

export interface OperationCount {
  calls: number;
  /** Keys for BatchGetItem, items otherwise. */
  items: number;
  /** Units dynalite reported (what the forwarder's checkpointUsage sums). */
  reportedUnits: number;
  /** Units by DynamoDB's rules, recomputed here. */
  expectedUnits: number;
  /** Conditional writes refused (DynamoDB still charges them; the forwarder does not count them). */
  conditionalFailures: number;
}

export interface MeterReport {
  byOperation: Record<string, OperationCount>;
  readUnits: { reported: number; expected: number };
  writeUnits: { reported: number; expected: number };
  /** Largest item seen (bytes, by the rules above) and its kind (`seen`, `cursor`, `lease`). */
  largestItem: { bytes: number; kind: string };
  /** Calls the model could not price (an expression it does not understand). */
  unmodelled: number;
}

export interface DdbMeter {
  url: string;
  reset(): void;
  report(): MeterReport;
  close(): Promise<void>;
}

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

function numberSize(n: string): number {
  const digits = n.replace(/^[-+]/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function valueSize(v: AttributeValue): number {
  const [type, val] = Object.entries(v)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return utf8(val as string);
    case 'N':
      return numberSize(val as string);
    case 'B':
      return Buffer.from(val as string, 'base64').length;
    case 'SS':
      return (val as string[]).reduce((n, s) => n + utf8(s), 0);
    case 'NS':
      return (val as string[]).reduce((n, s) => n + numberSize(s), 0);
    case 'BS':
      return (val as string[]).reduce((n, s) => n + Buffer.from(s, 'base64').length, 0);
    case 'L':
      return 3 + (val as AttributeValue[]).reduce((n, e) => n + 1 + valueSize(e), 0);
    case 'M':
      return 3 + Object.entries(val as Item).reduce((n, [k, e]) => n + 1 + utf8(k) + valueSize(e), 0);
    default: // BOOL, NULL
      return 1;
  }
}

export function itemSize(item: Item | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((n, [name, v]) => n + utf8(name) + valueSize(v), 0);
}

const writeUnits = (before: Item | undefined, after: Item | undefined): number => Math.max(1, Math.ceil(Math.max(itemSize(before), itemSize(after)) / 1024));
const readUnits = (item: Item | undefined, consistent: boolean): number => Math.max(1, Math.ceil(itemSize(item) / 4096)) * (consistent ? 1 : 0.5);

function keyOf(key: Item): string {
  return JSON.stringify(key.pk);
}

const kindOf = (item: Item): string => String((item.pk as { S?: string })?.S ?? '').split('#')[0];

/** Applies `ADD a :v` / `SET a = :v, b = :w` clauses; undefined if the expression has anything else. */
function applyUpdate(before: Item | undefined, key: Item, expression: string, values: Item): Item | undefined {
  const item: Item = { ...(before ?? {}), ...key };
  const clauses = expression.split(/\b(ADD|SET)\b/).map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i < clauses.length; i += 2) {
    const verb = clauses[i];
    const body = clauses[i + 1] ?? '';
    for (const part of body.split(',').map((p) => p.trim())) {
      if (verb === 'ADD') {
        const m = /^(\w+)\s+(:\w+)$/.exec(part);
        const v = m && values[m[2]];
        if (!m || !v || !('SS' in v)) return undefined;
        const current = (item[m[1]] as { SS?: string[] } | undefined)?.SS ?? [];
        item[m[1]] = { SS: [...new Set([...current, ...(v.SS as string[])])] };
      } else if (verb === 'SET') {
        const m = /^(\w+)\s*=\s*(:\w+)$/.exec(part);
        if (!m || !values[m[2]]) return undefined;
        item[m[1]] = values[m[2]];
      } else return undefined;
    }
  }
  return item;
}

function consumed(body: unknown): number {
  const c = (body as { ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> }).ConsumedCapacity;
  if (Array.isArray(c)) return c.reduce((n, x) => n + (x.CapacityUnits ?? 0), 0);
  return c?.CapacityUnits ?? 0;
}

export async function startDdbMeter(targetUrl: string): Promise<DdbMeter> {
  const target = new URL(targetUrl);
  const items = new Map<string, Item>();
  let byOperation: Record<string, OperationCount> = {};
  let largest = { bytes: 0, kind: '' };
  let unmodelled = 0;

  const count = (op: string): OperationCount =>
    (byOperation[op] ??= { calls: 0, items: 0, reportedUnits: 0, expectedUnits: 0, conditionalFailures: 0 });
  const remember = (pk: string, item: Item | undefined) => {
    if (!item) return void items.delete(pk);
    items.set(pk, item);
    const bytes = itemSize(item);
    if (bytes > largest.bytes) largest = { bytes, kind: kindOf(item) };
  };

  /** Prices the call by the rules and updates the mirror; runs once the response is known. */
  function account(op: string, req: Record<string, unknown>, status: number, res: Record<string, unknown>): void {
    const c = count(op);
    c.calls += 1;
    c.reportedUnits += consumed(res);
    const failedCondition = status === 400 && String(res.__type ?? '').includes('ConditionalCheckFailed');
    if (status !== 200 && !failedCondition) return;
    if (failedCondition) {
      // Charged by DynamoDB, but neither dynalite nor the forwarder's usage counts it: kept apart.
      c.conditionalFailures += 1;
      return;
    }
    switch (op) {
      case 'GetItem': {
        c.items += 1;
        c.expectedUnits += readUnits(items.get(keyOf(req.Key as Item)), req.ConsistentRead === true);
        break;
      }
      case 'BatchGetItem': {
        for (const spec of Object.values(req.RequestItems as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>)) {
          for (const key of spec.Keys) {
            c.items += 1;
            c.expectedUnits += readUnits(items.get(keyOf(key)), spec.ConsistentRead === true);
          }
        }
        break;
      }
      case 'PutItem': {
        const item = req.Item as Item;
        const before = items.get(keyOf(item));
        c.items += 1;
        c.expectedUnits += writeUnits(before, item);
        remember(keyOf(item), item);
        break;
      }
      case 'UpdateItem': {
        const key = req.Key as Item;
        const before = items.get(keyOf(key));
        const after = applyUpdate(before, key, String(req.UpdateExpression ?? ''), (req.ExpressionAttributeValues ?? {}) as Item);
        c.items += 1;
        if (!after) {
          unmodelled += 1;
          break;
        }
        c.expectedUnits += writeUnits(before, after);
        remember(keyOf(key), after);
        break;
      }
      case 'DeleteItem': {
        const key = req.Key as Item;
        c.items += 1;
        c.expectedUnits += writeUnits(items.get(keyOf(key)), undefined);
        remember(keyOf(key), undefined);
        break;
      }
      default:
        unmodelled += 1;
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? 'Unknown';
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        (up) => {
          const out: Buffer[] = [];
          up.on('data', (c: Buffer) => out.push(c));
          up.on('end', () => {
            const text = Buffer.concat(out);
            try {
              account(op, JSON.parse(body.toString('utf8') || '{}'), up.statusCode ?? 0, JSON.parse(text.toString('utf8') || '{}'));
            } catch {
              unmodelled += 1;
            }
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(text);
          });
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    reset() {
      byOperation = {};
      largest = { bytes: 0, kind: '' };
      unmodelled = 0;
    },
    report() {
      const sum = (ops: string[], f: (c: OperationCount) => number) => ops.reduce((n, op) => n + (byOperation[op] ? f(byOperation[op]) : 0), 0);
      const reads = ['GetItem', 'BatchGetItem'];
      const writes = ['PutItem', 'UpdateItem', 'DeleteItem'];
      return {
        byOperation: structuredClone(byOperation),
        readUnits: { reported: sum(reads, (c) => c.reportedUnits), expected: sum(reads, (c) => c.expectedUnits) },
        writeUnits: { reported: sum(writes, (c) => c.reportedUnits), expected: sum(writes, (c) => c.expectedUnits) },
        largestItem: largest,
        unmodelled,
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * DynamoDB for tests: dynalite (an in-memory DynamoDB on the real wire protocol) on
 * 127.0.0.1, with the checkpoint table created through the real SDK as the stack defines
 * it (partition key `pk`, string; on-demand). dynalite does not check signatures, and it
 * has no UpdateTimeToLive, so the table's TTL setting is not reproduced here.
 */
import type { Server } from 'node:http';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { closeServer, listenLoopback, sleep } from './http';

// dynalite ships no type declarations; this is the one call used.
const dynalite = require('dynalite') as (opts: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

export interface DynamoDbOptions {
  /** Default `checkpoints`. */
  tableName?: string;
  /** Region the SDK signs for while creating the table (dynalite keeps one store for all). */
  region?: string;
}

export interface DynamoDbStandIn {
  url: string;
  tableName: string;
  /** Credentials dynalite accepts (any); handy for test clients. */
  client(): DynamoDBClient;
  close(): Promise<void>;
}

export async function startDynamoDb(opts: DynamoDbOptions = {}): Promise<DynamoDbStandIn> {
  const tableName = opts.tableName ?? 'checkpoints';
  const region = opts.region ?? 'us-east-1';
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listenLoopback(server);
  const url = `http://127.0.0.1:${port}`;
  const client = () => new DynamoDBClient({ region, endpoint: url, credentials: { accessKeyId: 'AKIALOCALDYNALITE000', secretAccessKey: 'local' } });

  const admin = client();
  try {
    await admin.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // Created ACTIVE at once with createTableMs 0; still wait so a slower dynalite cannot race the tests.
    for (let i = 0; ; i++) {
      const { Table } = await admin.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') break;
      if (i >= 100) throw new Error(`table ${tableName} did not become ACTIVE`);
      await sleep(20);
    }
  } catch (err) {
    await closeServer(server);
    throw err;
  } finally {
    admin.destroy();
  }

  return { url, tableName, client, close: () => closeServer(server) };
}

/** The connector's lease item, read and written the way a test (or another owner) would. */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { untilTime } from './suite';

export interface Lease {
  owner: string;
  leaseUntil: number;
}

export class LeaseTable {
  constructor(
    private readonly admin: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly connectorName: string,
  ) {}

  async get(): Promise<Lease | undefined> {
    const out = await this.admin.send(new GetCommand({ TableName: this.table, Key: { pk: `lease#${this.connectorName}` }, ConsistentRead: true }));
    return out.Item ? { owner: String(out.Item.owner), leaseUntil: Number(out.Item.leaseUntil) } : undefined;
  }

  async put(owner: string, leaseUntil: number): Promise<void> {
    await this.admin.send(new PutCommand({ TableName: this.table, Item: { pk: `lease#${this.connectorName}`, owner, leaseUntil } }));
  }

  /** Waits out a live lease (unless `ignore` says its owner will never release it). */
  async waitForExpiry(ignore: (lease: Lease) => boolean = () => false): Promise<void> {
    const lease = await this.get();
    if (lease && lease.leaseUntil >= Date.now() && !ignore(lease)) await untilTime(lease.leaseUntil + 5);
  }
}

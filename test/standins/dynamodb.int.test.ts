import { ConditionalCheckFailedException, DescribeTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDb, type DynamoDbStandIn } from '../../standins/dynamodb';

describe('DynamoDB stand-in (dynalite)', () => {
  let db: DynamoDbStandIn;
  beforeAll(async () => {
    db = await startDynamoDb({ tableName: 'forwarder-checkpoints' });
  });
  afterAll(() => db.close());

  it('creates the checkpoint table keyed by pk, on demand', async () => {
    const c = db.client();
    const { Table } = await c.send(new DescribeTableCommand({ TableName: 'forwarder-checkpoints' }));
    expect(Table).toMatchObject({
      TableStatus: 'ACTIVE',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
    });
    c.destroy();
  });

  it('stores items and honours conditional writes (what a lease needs)', async () => {
    const c = db.client();
    const put = (owner: string) =>
      c.send(
        new PutItemCommand({
          TableName: db.tableName,
          Item: { pk: { S: 'lease#c1' }, owner: { S: owner } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    await put('run-1');
    await expect(put('run-2')).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const { Item } = await c.send(new GetItemCommand({ TableName: db.tableName, Key: { pk: { S: 'lease#c1' } } }));
    expect(Item?.owner.S).toBe('run-1');
    c.destroy();
  });
});

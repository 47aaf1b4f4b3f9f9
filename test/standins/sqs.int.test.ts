import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type ReceiveMessageCommandInput,
} from '@aws-sdk/client-sqs';
import { StandInClock } from '../../standins/clock';
import { CredentialRegistry, type Principal } from '../../standins/sigv4';
import { md5OfAttributes, startSqs, type SqsStandIn } from '../../standins/sqs';

const ACCOUNT = '111122223333';

describe('SQS stand-in', () => {
  const registry = new CredentialRegistry();
  const user = registry.createUser(ACCOUNT, 'consumer');
  const clock = new StandInClock();
  let sqs: SqsStandIn;
  let url: string;
  let dlqUrl: string;
  const clients: SQSClient[] = [];

  function client(p: Pick<Principal, 'accessKeyId' | 'secretAccessKey'> = user, region = 'eu-west-1') {
    const c = new SQSClient({ region, endpoint: sqs.url, credentials: p, maxAttempts: 1 });
    clients.push(c);
    return c;
  }
  const receive = (input: Partial<ReceiveMessageCommandInput> = {}, c = client()) =>
    c.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'], ...input }));

  beforeAll(async () => {
    sqs = await startSqs({ registry, clock, defaultRegion: 'eu-west-1', defaultAccountId: ACCOUNT });
    dlqUrl = sqs.createQueue('trail-files-dlq').url;
    url = sqs.createQueue('trail-files', { visibilityTimeoutSeconds: 60, deadLetter: { queue: 'trail-files-dlq', maxReceiveCount: 3 } }).url;
  });
  afterAll(async () => {
    clients.forEach((c) => c.destroy());
    await sqs.close();
  });
  beforeEach(() => sqs.reset());

  it('finds the queue by name, sends and receives with the attributes Lambda passes on', async () => {
    const c = client();
    expect((await c.send(new GetQueueUrlCommand({ QueueName: 'trail-files' }))).QueueUrl).toBe(url);
    expect(sqs.queue(url)?.arn).toBe(`arn:aws:sqs:eu-west-1:${ACCOUNT}:trail-files`);
    const MessageAttributes = { kind: { DataType: 'String', StringValue: 's3' }, n: { DataType: 'Number', StringValue: '1' } };
    // The SDK checks MD5OfMessageBody itself; MD5OfMessageAttributes follows SQS's algorithm.
    const sent = await c.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"a":1}', MessageAttributes }));
    expect(sent.MD5OfMessageAttributes).toBe(md5OfAttributes(MessageAttributes));
    const before = clock.now();
    const { Messages } = await receive();
    expect(Messages).toHaveLength(1);
    const m = Messages?.[0];
    expect(m).toMatchObject({ MessageId: sent.MessageId, Body: '{"a":1}', MessageAttributes });
    expect(m?.Attributes).toMatchObject({ ApproximateReceiveCount: '1', SenderId: user.userId });
    expect(Number(m?.Attributes?.SentTimestamp)).toBeLessThanOrEqual(before);
    expect(Number(m?.Attributes?.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(before);
    await expect(c.send(new GetQueueUrlCommand({ QueueName: 'nope' }))).rejects.toBeInstanceOf(QueueDoesNotExist);
  });

  it('hides a received message for the visibility timeout, then redelivers it with a new handle and count', async () => {
    sqs.sendMessage('trail-files', 'm1');
    const first = (await receive()).Messages?.[0];
    expect((await receive()).Messages).toBeUndefined();
    expect(sqs.counts('trail-files')).toMatchObject({ visible: 0, 'in-flight': 1 });
    clock.advance(60_000);
    const second = (await receive()).Messages?.[0];
    expect(second).toMatchObject({ MessageId: first?.MessageId, Attributes: { ApproximateReceiveCount: '2', ApproximateFirstReceiveTimestamp: first?.Attributes?.ApproximateFirstReceiveTimestamp } });
    expect(second?.ReceiptHandle).not.toBe(first?.ReceiptHandle);
    await client().send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second?.ReceiptHandle }));
    expect(sqs.counts('trail-files').total).toBe(0);
  });

  it('applies ChangeMessageVisibility with SQS rules: 0 releases, 12 h per receive at most, bad handles refused', async () => {
    sqs.sendMessage('trail-files', 'm');
    const c = client();
    const m = (await receive()).Messages?.[0];
    const change = (ReceiptHandle: string | undefined, VisibilityTimeout: number) => c.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle, VisibilityTimeout }));
    await change(m?.ReceiptHandle, 43_200);
    clock.advance(3_600_000);
    await expect(change(m?.ReceiptHandle, 43_200)).rejects.toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('beyond the limit [43200 seconds]') });
    await change(m?.ReceiptHandle, 0);
    await expect(change(m?.ReceiptHandle, 10)).rejects.toMatchObject({ name: 'MessageNotInflight' });
    const again = (await receive()).Messages?.[0];
    await expect(change(m?.ReceiptHandle, 10)).rejects.toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('receipt handle has expired') });
    await expect(change('garbage', 10)).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);
    await c.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again?.ReceiptHandle }));
    await expect(change(again?.ReceiptHandle, 10)).rejects.toMatchObject({ message: expect.stringContaining('Message does not exist') });
  });

  it('delays messages per message (≤ 900 s) and batches sends and deletes', async () => {
    const c = client();
    const out = await c.send(
      new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'now' }, { Id: 'b', MessageBody: 'later', DelaySeconds: 120 }, { Id: 'c', MessageBody: 'bad', DelaySeconds: 901 }] }),
    );
    expect(out.Successful?.map((s) => s.Id)).toEqual(['a', 'b']);
    expect(out.Failed).toEqual([expect.objectContaining({ Id: 'c', SenderFault: true, Code: 'InvalidParameterValue' })]);
    expect(sqs.counts('trail-files')).toMatchObject({ visible: 1, delayed: 1 });
    const got = (await receive({ VisibilityTimeout: 600 })).Messages ?? [];
    expect(got.map((m) => m.Body)).toEqual(['now']);
    clock.advance(120_000);
    got.push(...((await receive()).Messages ?? []));
    expect(got.map((m) => m.Body)).toEqual(['now', 'later']);
    const del = await c.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: got.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    expect(del.Successful).toHaveLength(2);
    expect(sqs.stats()).toMatchObject({ sent: 2, received: 2, deleted: 2 });
  });

  it('long-polls until a message arrives', async () => {
    const pending = receive({ WaitTimeSeconds: 5 });
    setTimeout(() => sqs.sendMessage('trail-files', 'late'), 100);
    const started = Date.now();
    expect((await pending).Messages?.map((m) => m.Body)).toEqual(['late']);
    expect(Date.now() - started).toBeLessThan(4000);
    // An empty long poll ends when its (clock) wait is over; here the clock is moved past it.
    const empty = receive({ WaitTimeSeconds: 20 });
    setTimeout(() => clock.advance(20_000), 100);
    expect((await empty).Messages).toBeUndefined();
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives, keeping its id', async () => {
    const m = sqs.sendMessage('trail-files', 'poison');
    for (let i = 1; i <= 3; i++) {
      expect((await receive()).Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe(String(i));
      clock.advance(60_000);
    }
    expect((await receive()).Messages).toBeUndefined();
    const dead = (await receive({ QueueUrl: dlqUrl })).Messages?.[0];
    expect(dead).toMatchObject({ MessageId: m.id, Body: 'poison', Attributes: { DeadLetterQueueSourceArn: sqs.queue('trail-files')?.arn } });
    expect(sqs.stats().movedToDeadLetter).toBe(1);
  });

  it('reports queue attributes, purges, and refuses what IAM denies', async () => {
    sqs.sendMessage('trail-files', 'x');
    const c = client();
    const { Attributes } = await c.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
    expect(Attributes).toMatchObject({ ApproximateNumberOfMessages: '1', VisibilityTimeout: '60', QueueArn: sqs.queue(url)?.arn });
    expect(JSON.parse(Attributes?.RedrivePolicy as string)).toEqual({ deadLetterTargetArn: sqs.queue('trail-files-dlq')?.arn, maxReceiveCount: 3 });
    await c.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect(sqs.counts('trail-files').total).toBe(0);
    await expect(c.send(new PurgeQueueCommand({ QueueUrl: url }))).rejects.toMatchObject({ name: 'PurgeQueueInProgress' });

    const denied = registry.createUser(ACCOUNT, 'no-receive', { deniedActions: ['sqs:ReceiveMessage'] });
    await expect(receive({}, client(denied))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(receive({}, client({ ...user, secretAccessKey: 'wrong' }))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
    await expect(receive({}, client(user, 'us-east-1'))).rejects.toBeInstanceOf(QueueDoesNotExist);
  });

  it('can hand one message to two receivers at once, and fail requests on demand', async () => {
    sqs.sendMessage('trail-files', 'twice');
    sqs.injectFault({ kind: 'duplicate', operation: 'ReceiveMessage' });
    const a = (await receive()).Messages?.[0];
    const b = (await receive()).Messages?.[0];
    expect(b?.MessageId).toBe(a?.MessageId);
    expect(b?.ReceiptHandle).not.toBe(a?.ReceiptHandle);
    expect((await receive()).Messages).toBeUndefined();

    sqs.injectFault({ kind: 'internal', operation: 'SendMessage' });
    await expect(client().send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
  });
});

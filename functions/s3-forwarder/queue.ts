/**
 * Sends continuation messages to the queue the batch came from: its URL from GetQueueUrl on the
 * name and account in `eventSourceARN` (`arn:aws:sqs:<region>:<account>:<name>`), once per queue.
 * The function's own role sends; AWS_ENDPOINT_URL_SQS points the SDK elsewhere in tests.
 */
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

export class QueueSender {
  private readonly clients = new Map<string, SQSClient>();
  private readonly urls = new Map<string, Promise<string>>();

  async send(eventSourceARN: string, body: string, delaySeconds: number): Promise<void> {
    const { region, account, name } = parseQueueArn(eventSourceARN);
    const client = this.clientFor(region);
    let url = this.urls.get(eventSourceARN);
    if (!url) {
      url = client.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account })).then((out) => {
        if (!out.QueueUrl) throw new Error(`GetQueueUrl gave no URL for ${eventSourceARN}`);
        return out.QueueUrl;
      });
      url.catch(() => this.urls.delete(eventSourceARN));
      this.urls.set(eventSourceARN, url);
    }
    await client.send(new SendMessageCommand({ QueueUrl: await url, MessageBody: body, DelaySeconds: Math.max(0, Math.min(900, Math.round(delaySeconds))) }));
  }

  private clientFor(region: string): SQSClient {
    let client = this.clients.get(region);
    if (!client) {
      client = new SQSClient({ region });
      this.clients.set(region, client);
    }
    return client;
  }
}

export function parseQueueArn(arn: string): { region: string; account: string; name: string } {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs') throw new Error(`eventSourceARN "${arn}" is not an SQS queue ARN`);
  return { region: parts[3], account: parts[4], name: parts[5] };
}

import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { testCerts } from '../../standins/dnif-receiver';
import { OctetCountingDeframer, parseRfc5424, startSyslogReceiver, type SyslogReceiver } from '../../standins/syslog-receiver';

const record = (id: string) => JSON.stringify({ eventID: id, eventName: 'ConsoleLogin', dnifForwarder: { eventId: id } });
const message = (id: string, header = '<134>1 2024-10-16T11:52:46Z prod cloudtrail - ConsoleLogin -') => `${header} ${record(id)}`;
const frame = (msg: string) => `${Buffer.byteLength(msg)} ${msg}`;

function open(rx: SyslogReceiver, opts: { cert?: boolean } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const client = testCerts.client();
    const socket = rx.tls
      ? tlsConnect({ host: '127.0.0.1', port: rx.port, ca: testCerts.ca(), ...(opts.cert === false ? {} : client) }, () => resolve(socket))
      : netConnect({ host: '127.0.0.1', port: rx.port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));
const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('OctetCountingDeframer', () => {
  it('reassembles frames split anywhere, several per chunk, counting bytes not characters', () => {
    const text = frame(message('a')) + frame(message('é-ü')) + frame(message('c'));
    const bytes = Buffer.from(text, 'utf8');
    for (const step of [1, 3, 7, bytes.length]) {
      const d = new OctetCountingDeframer(1 << 20);
      const frames: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += step) {
        const out = d.push(bytes.subarray(i, i + step));
        expect(out.error).toBeUndefined();
        frames.push(...out.frames);
      }
      expect(frames.map((f) => parseRfc5424(f).json?.eventID)).toEqual(['a', 'é-ü', 'c']);
      expect(d.pending).toBe(0);
    }
  });

  it.each([
    ['non-transparent framing', `${message('a')}\n`, /non-transparent framing/],
    ['a leading zero', `0${frame(message('a'))}`, /leading zeros/],
    ['an LF after a frame', `${frame(message('a'))}\n${frame(message('b'))}`, /MSG-LEN must be a decimal/],
    ['a length too large', `99999999 x`, /larger than/],
  ])('fails on %s', (_name, text, problem) => {
    const d = new OctetCountingDeframer(1 << 20);
    const out = d.push(Buffer.from(text));
    expect(out.error?.message).toMatch(problem);
    // Whole frames before the bad one still come out.
    expect(out.frames).toHaveLength(text.startsWith(frame(message('a'))) ? 1 : 0);
  });
});

describe('parseRfc5424', () => {
  it('reads every header field, structured data with escapes, and the JSON MSG', () => {
    const m = parseRfc5424(Buffer.from(`<132>1 2024-10-16T11:52:46.123+02:00 host-1 cloudtrail 42 AssumeRole [ev@32473 id="a\\"b\\]c" n="1"][x@1] {"k":1}`));
    expect(m).toMatchObject({ pri: 132, facility: 16, severity: 4, version: 1, timestamp: '2024-10-16T11:52:46.123+02:00', hostname: 'host-1', appName: 'cloudtrail', procId: '42', msgId: 'AssumeRole', msg: '{"k":1}', json: { k: 1 } });
    expect(m.structuredData).toEqual([{ id: 'ev@32473', params: { id: 'a"b]c', n: '1' } }, { id: 'x@1', params: {} }]);
    expect(parseRfc5424(Buffer.from('<0>1 - - - - - -'))).toMatchObject({ timestamp: null, hostname: null, msgId: null, structuredData: null, msg: '' });
  });

  it.each([
    ['no PRI', 'hello', /<PRI>/],
    ['PRI out of range', '<192>1 - - - - - -', /0-191/],
    ['VERSION 2', '<13>2 - - - - - -', /VERSION 2/],
    ['a BSD timestamp', '<13>1 Oct 16 11:52:46 host app - - -', /TIMESTAMP/],
    ['a 33-character MSGID', `<13>1 - - - - ${'x'.repeat(33)} -`, /MSGID/],
    ['two spaces', '<13>1 -  - - - -', /empty/],
    ['SD without closing bracket', '<13>1 - - - - - [a b="c"', /closing/],
    ['SD-PARAM without a value', '<13>1 - - - - - [a b] x', /"="/],
    ['no SP before MSG', '<13>1 - - - - - -x', /MSG/],
  ])('rejects %s', (_name, text, problem) => {
    expect(() => parseRfc5424(Buffer.from(text))).toThrow(problem);
  });
});

describe('syslog receiver stand-in', () => {
  describe('TLS with a required client certificate', () => {
    let rx: SyslogReceiver;
    beforeAll(async () => {
      rx = await startSyslogReceiver({ tls: 'trusted', requireClientCert: true });
    });
    afterAll(() => rx.close());
    beforeEach(() => rx.clear());

    it('records messages over mutual TLS, with the connection and client certificate', async () => {
      const s = await open(rx);
      s.write(frame(message('a')).slice(0, 10));
      s.write(frame(message('a')).slice(10) + frame(message('b')));
      await rx.waitForEvents(2);
      s.end();
      await closed(s);
      await until(() => rx.connections[0]?.closedBy === 'client');
      expect(rx.messages.map((m) => [m.connection, m.msgId, m.json?.eventID])).toEqual([
        [1, 'ConsoleLogin', 'a'],
        [1, 'ConsoleLogin', 'b'],
      ]);
      expect(rx.connections[0]).toMatchObject({ id: 1, messages: 2, closedBy: 'client', clientCert: expect.any(String), tlsProtocol: expect.stringMatching(/^TLS/) });
      expect(rx.target()).toMatchObject({ host: '127.0.0.1', port: rx.port, tls: true, ca: expect.stringContaining('BEGIN CERTIFICATE'), key: expect.stringContaining('PRIVATE KEY') });
      rx.expectClean();
    });

    it('refuses a client without a certificate', async () => {
      const s = await open(rx, { cert: false });
      const error = await new Promise<Error | undefined>((resolve) => {
        s.once('error', resolve);
        s.once('close', () => resolve(undefined));
        s.write(frame(message('a')));
      });
      expect(String((error as NodeJS.ErrnoException | undefined)?.code ?? 'closed')).toMatch(/CERTIFICATE_REQUIRED|closed|ECONNRESET/);
      expect(rx.messages).toHaveLength(0);
    });

    it('fails loudly on bad framing and cuts the connection', async () => {
      const s = await open(rx);
      s.write(frame(message('a')) + `${message('b')}\n`);
      await expect(rx.waitForEvents(5)).rejects.toThrow(/non-transparent framing/);
      await closed(s);
      expect(() => rx.expectClean()).toThrow(/connection 1, after 1 messages/);
      expect(rx.connections[0].closedBy).toBe('receiver');
    });

    it('drops the connection after N more messages, discarding the rest of what it read', async () => {
      rx.dropAfter(2);
      const s = await open(rx);
      s.on('error', () => undefined);
      s.write(['a', 'b', 'c', 'd'].map((id) => frame(message(id))).join(''));
      await closed(s);
      expect(rx.messages.map((m) => m.json?.eventID)).toEqual(['a', 'b']);
      expect(rx.connections[0]).toMatchObject({ closedBy: 'receiver', messages: 2 });
      expect(rx.connections[0].discardedBytes).toBeGreaterThan(0);
      // The next connection is not dropped.
      const again = await open(rx);
      again.write(frame(message('c')));
      await rx.waitForEvents(3);
      again.destroy();
    });

    it('counts duplicates by dnifForwarder.eventId', async () => {
      const s = await open(rx);
      s.write(frame(message('a')) + frame(message('a')) + frame(message('b')));
      await until(() => rx.messages.length === 3);
      s.destroy();
      expect(rx.duplicates).toBe(1);
      expect([...rx.eventsById().keys()]).toEqual(['a', 'b']);
    });
  });

  it('plain TCP: refuses connections while down and takes them again when up', async () => {
    const rx = await startSyslogReceiver({ tls: false });
    try {
      await rx.refuse();
      await expect(open(rx)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await rx.accept();
      const s = await open(rx);
      s.write(frame(message('z')));
      await rx.waitForEvents(1);
      s.end();
      expect(rx.target()).toEqual({ host: '127.0.0.1', port: rx.port, tls: false });
    } finally {
      await rx.close();
    }
  });
});

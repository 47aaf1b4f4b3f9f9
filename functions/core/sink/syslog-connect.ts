/**
 * Opens the connection to a DNIF Adapter's syslog listener, as the syslog sink and the
 * test-connection probe both do: TLS (DNIF's certificate checked against `ca`, our `cert`/`key`
 * presented, SNI for a host name) or plain TCP. What counts as connected, and what a failure
 * means, is each caller's own.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { SyslogTarget } from '../connector';

/**
 * Starts connecting to `target` and calls `onConnected` once, when the TLS handshake is done
 * (with the TLS socket) or the TCP connection is made (with `undefined`). Errors are the
 * caller's to listen for on the returned socket; unusable PEMs (ca/cert/key) throw here,
 * synchronously, while the secure context is built.
 */
export function connectSyslog(target: SyslogTarget, onConnected: (tlsSocket: TLSSocket | undefined) => void): Socket | TLSSocket {
  if (target.tls) {
    const tlsSocket = tlsConnect({
      host: target.host,
      port: target.port,
      ca: target.ca,
      cert: target.cert,
      key: target.key,
      servername: isIP(target.host) ? undefined : target.host,
      rejectUnauthorized: true,
    });
    tlsSocket.once('secureConnect', () => onConnected(tlsSocket));
    return tlsSocket;
  }
  const socket = netConnect({ host: target.host, port: target.port });
  socket.once('connect', () => onConnected(undefined));
  return socket;
}

import { duplexPair, type Duplex } from 'node:stream';
import { TLSSocket, createSecureContext } from 'node:tls';
import type { Socket } from 'node:net';
import { TYPE } from 'tedious/lib/packet.js';
import { framePackets } from './packets.ts';

/**
 * The server side of TLS as TDS 7.x carries it (MS-TDS 2.2.6.5, 3.2.5.2): handshake records travel
 * inside PRELOGIN messages, one server message answering each client message; once the handshake is
 * done, TLS records flow on the socket directly and carry the TDS packets.
 */
export class TlsInPrelogin {
  /** Decrypted bytes from the client, once the handshake is done. */
  readonly cleartext: TLSSocket;
  private readonly outer: Duplex;
  private readonly socket: Socket;
  private pending: Buffer[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private handshakeDone = false;
  private raw = false;

  constructor(socket: Socket, credentials: { key: string; cert: string }) {
    this.socket = socket;
    const [inner, outer] = duplexPair();
    this.outer = outer;
    this.cleartext = new TLSSocket(inner, { isServer: true, secureContext: createSecureContext(credentials) });
    // A client that refuses the certificate ends the handshake with an alert: that is the test's point.
    this.cleartext.on('error', () => socket.destroy());
    this.cleartext.once('secure', () => {
      this.handshakeDone = true;
    });
    outer.on('data', (chunk: Buffer) => {
      if (this.raw) {
        socket.write(chunk);
        return;
      }
      this.pending.push(chunk);
      clearTimeout(this.flushTimer);
      this.flushTimer = setTimeout(() => this.flush(), 5);
    });
  }

  /** Whether raw socket bytes are TLS records now (not PRELOGIN messages). */
  get secure(): boolean {
    return this.raw;
  }

  /** A handshake record from a PRELOGIN message. */
  handshake(payload: Buffer): void {
    this.outer.write(payload);
  }

  /** TLS records read from the socket after the handshake. */
  records(chunk: Buffer): void {
    this.outer.write(chunk);
  }

  private flush(): void {
    const data = Buffer.concat(this.pending);
    this.pending = [];
    for (const packet of framePackets(TYPE.PRELOGIN ?? 0x12, data)) this.socket.write(packet);
    if (this.handshakeDone) this.raw = true;
  }
}

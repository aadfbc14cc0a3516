import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TYPE } from 'tedious/lib/packet.js';
import prelogin from 'tedious/lib/prelogin-payload.js';
import { MessageReader, framePackets, type ClientMessage } from './packets.ts';
import {
  parseLogin7,
  parseRpc,
  parseSqlBatch,
  parseTransactionManager,
  type Login7,
  type RpcParameter
} from './requests.ts';
import { TlsInPrelogin } from './tls-in-prelogin.ts';
import {
  DONE,
  ENV,
  LATIN1_GENERAL_CI_AS,
  done,
  envChange,
  envChangeBytes,
  error,
  loginAck,
  type ServerMessage
} from './tokens.ts';

/**
 * A TDS protocol peer for tests: it speaks SQL Server's wire protocol to tedious (PRELOGIN, TLS
 * inside PRELOGIN when asked, LOGIN7, SQL batches, RPCs, transaction manager requests, ATTENTION)
 * and answers with scripted token streams. It is not a database: it runs nothing, it records every
 * request so tests can assert what sqlbridge put on the wire.
 */

export type RecordedRequest = {
  /** Which TCP connection (1, 2, …; each one logged in with its own LOGIN7). */
  connection: number;
  /** The RESETCONNECTION status bit: the server runs sp_reset_connection before this request. */
  resetConnection: boolean;
  /** Transaction descriptor the request ran under ('0000000000000000': none). */
  transaction: string;
} & (
  | { kind: 'batch'; sql: string }
  | { kind: 'rpc'; procedure: string | number; parameters: RpcParameter[] }
  | { kind: 'begin' | 'commit' | 'rollback' }
  | { kind: 'attention' }
);

export interface Reply {
  /** Tokens of the response (without the final DONE when `hold` is set). */
  tokens?: Buffer[];
  /** Wait this long before answering: a statement that takes time. */
  delayMs?: number;
  /** Never finish: the response stays open, as for a statement still running, until an ATTENTION. */
  hold?: boolean;
}

export interface TdsPeerOptions {
  /** Announce encryption and do TLS inside PRELOGIN with this key and certificate. */
  tls?: { key: string; cert: string };
  /** An error to refuse the login with (18456, 4060 …); accepted when it returns undefined. */
  login?: (login: Login7) => ServerMessage | undefined;
  /** The reply to a batch or RPC; undefined: an empty DONE. */
  respond?: (request: RecordedRequest) => Reply | undefined;
}

const NO_TRANSACTION = '0000000000000000';
// tedious's CommonJS modules replace module.exports with the class; their declarations say `export default`.
const PreloginPayload = prelogin as unknown as typeof prelogin.default;

export class TdsPeer {
  /** Every request, in the order received. */
  readonly requests: RecordedRequest[] = [];
  readonly logins: Login7[] = [];
  /** Whether ATTENTION is acknowledged (a server that never does is what `ignore` models). */
  attention: 'acknowledge' | 'ignore' = 'acknowledge';
  /**
   * What an acknowledged attention does to the open transaction. With XACT_ABORT on (as sqlbridge
   * runs every connection), SQL Server rolls it back: `in-response` reports that in the cancelled
   * request's response, `silent` reports nothing; `keep` leaves the transaction open. Either way a
   * ROLLBACK of a transaction no longer open then fails with error 3903, as SQL Server's does.
   */
  attentionRollback: 'keep' | 'in-response' | 'silent' = 'keep';
  port = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly options: TdsPeerOptions;
  private connections = 0;
  private transactions = 0;

  constructor(options: TdsPeerOptions = {}) {
    this.options = options;
    this.server = createServer(socket => this.accept(socket));
  }

  async listen(): Promise<this> {
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>(resolve => this.server.close(() => resolve()));
  }

  /** Ends every open connection from the server's side, as a KILL or a failover would; new ones are accepted. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Requests other than the driver's own housekeeping (its session SQL and pool validation). */
  get statements(): RecordedRequest[] {
    return this.requests.filter(r => !(r.kind === 'batch' && isHousekeeping(r.sql)));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const id = ++this.connections;
    const reader = new MessageReader();
    let tls: TlsInPrelogin | undefined;
    let running: { timer?: NodeJS.Timeout; open: boolean } | undefined;
    /** The descriptor of the transaction open on this connection. */
    let open = NO_TRANSACTION;
    const write = (packets: Buffer[]): void => {
      for (const packet of packets) (tls?.secure === true ? tls.cleartext : socket).write(packet);
    };
    const send = (tokens: Buffer[], end = true): void =>
      write(framePackets(TYPE.TABULAR_RESULT ?? 4, Buffer.concat(tokens), { end }));

    const answer = (reply: Reply | undefined): void => {
      const tokens = reply?.tokens ?? [];
      const go = (): void => {
        if (reply?.hold === true) {
          if (tokens.length > 0) send(tokens, false);
          running = { open: tokens.length > 0 };
          return;
        }
        running = undefined;
        send(tokens.length > 0 ? tokens : [done()]);
      };
      if (reply?.delayMs === undefined) go();
      else running = { timer: setTimeout(go, reply.delayMs), open: false };
    };

    const onAttention = (): void => {
      this.requests.push({ connection: id, kind: 'attention', resetConnection: false, transaction: NO_TRANSACTION });
      if (this.attention === 'ignore') return;
      clearTimeout(running?.timer);
      // tedious reads the cancelled request's response as one message and the acknowledgement as
      // the next (MS-TDS 2.2.1.7, 3.2.5.7: the client discards everything before DONE_ATTN).
      const rolledBack = this.attentionRollback !== 'keep' && open !== NO_TRANSACTION;
      const report =
        rolledBack && this.attentionRollback === 'in-response'
          ? [envChangeBytes(ENV.ROLLBACK_TRAN, Buffer.alloc(0), Buffer.from(open, 'hex'))]
          : [];
      if (rolledBack) open = NO_TRANSACTION;
      if (running !== undefined) send([...report, done(DONE.ERROR)]);
      running = undefined;
      send([done(DONE.ATTN)]);
    };

    const onMessage = (message: ClientMessage): void => {
      if (message.type === (TYPE.ATTENTION ?? 6)) {
        onAttention();
        return;
      }
      if (message.ignored) {
        send([done()]);
        return;
      }
      const base = { connection: id, resetConnection: message.resetConnection };
      // sp_reset_connection ends any transaction still open.
      if (message.resetConnection) open = NO_TRANSACTION;
      const resetAck = message.resetConnection
        ? [envChangeBytes(ENV.RESET_CONNECTION, Buffer.alloc(0), Buffer.alloc(0))]
        : [];
      switch (message.type) {
        case TYPE.PRELOGIN: {
          if (tls !== undefined) {
            tls.handshake(message.payload);
            return;
          }
          const reply = new PreloginPayload({
            encrypt: this.options.tls !== undefined,
            version: { major: 16, minor: 0, build: 1000, subbuild: 0 }
          });
          write(framePackets(TYPE.TABULAR_RESULT ?? 4, reply.data));
          if (this.options.tls !== undefined) {
            tls = new TlsInPrelogin(socket, this.options.tls);
            tls.cleartext.on('data', (chunk: Buffer) => reader.push(chunk).forEach(onMessage));
          }
          return;
        }
        case TYPE.LOGIN7: {
          this.login(parseLogin7(message.payload), send);
          return;
        }
        case TYPE.SQL_BATCH: {
          const { sql, transaction } = parseSqlBatch(message.payload);
          const request: RecordedRequest = { ...base, kind: 'batch', sql, transaction };
          this.requests.push(request);
          if (isHousekeeping(sql)) {
            send([...resetAck, done()]);
            return;
          }
          answer(withPrefix(resetAck, this.options.respond?.(request)));
          return;
        }
        case TYPE.RPC_REQUEST: {
          const call = parseRpc(message.payload);
          const request: RecordedRequest = { ...base, kind: 'rpc', ...call };
          this.requests.push(request);
          answer(withPrefix(resetAck, this.options.respond?.(request)));
          return;
        }
        case TYPE.TRANSACTION_MANAGER: {
          const tm = parseTransactionManager(message.payload);
          this.requests.push({ ...base, kind: tm.operation, transaction: tm.transaction });
          if (tm.operation === 'begin') {
            const descriptor = Buffer.alloc(8);
            descriptor.writeUInt32LE(++this.transactions);
            open = descriptor.toString('hex');
            send([...resetAck, envChangeBytes(ENV.BEGIN_TRAN, descriptor, Buffer.alloc(0)), done()]);
            return;
          }
          if (open === NO_TRANSACTION && this.attentionRollback !== 'keep') {
            const message = `The ${tm.operation.toUpperCase()} TRANSACTION request has no corresponding BEGIN TRANSACTION.`;
            send([...resetAck, error({ number: tm.operation === 'commit' ? 3902 : 3903, message }), done(DONE.ERROR)]);
            return;
          }
          open = NO_TRANSACTION;
          const type = tm.operation === 'commit' ? ENV.COMMIT_TRAN : ENV.ROLLBACK_TRAN;
          send([...resetAck, envChangeBytes(type, Buffer.alloc(0), Buffer.from(tm.transaction, 'hex')), done()]);
          return;
        }
        default:
          throw new Error(`the TDS peer does not handle packet type ${message.type}`);
      }
    };

    socket.on('data', (chunk: Buffer) => {
      if (tls?.secure === true) tls.records(chunk);
      else reader.push(chunk).forEach(onMessage);
    });
  }

  private login(login: Login7, send: (tokens: Buffer[]) => void): void {
    this.logins.push(login);
    const refusal = this.options.login?.(login);
    if (refusal !== undefined) {
      send([error({ severity: 14, ...refusal }), done(DONE.ERROR)]);
      return;
    }
    const database = login.database === '' ? 'master' : login.database;
    send([
      envChange(ENV.DATABASE, database, 'master'),
      envChangeBytes(ENV.SQL_COLLATION, LATIN1_GENERAL_CI_AS, Buffer.alloc(0)),
      loginAck(),
      envChange(ENV.PACKET_SIZE, '4096', '4096'),
      done()
    ]);
  }
}

/** tedious's session SQL after login and on reset (`set textsize …`) and mssql's pool validation. */
function isHousekeeping(sql: string): boolean {
  return /^set textsize /i.test(sql) || sql === 'SELECT 1;';
}

function withPrefix(prefix: Buffer[], reply: Reply | undefined): Reply | undefined {
  if (prefix.length === 0) return reply;
  return { ...reply, tokens: [...prefix, ...(reply?.tokens ?? (reply?.hold === true ? [] : [done()]))] };
}

import { connect } from 'node:net';

/**
 * A PostgreSQL CancelRequest (protocol message of the same name, "Canceling Requests in Progress"):
 * a separate connection that sends the backend's process id and secret key, and is closed. The
 * server then cancels whatever that backend is running, as `pg_cancel_backend` would.
 */
export function sendCancelRequest(host: string, port: number, processId: number, secretKey: number): Promise<void> {
  return new Promise(resolve => {
    const socket = connect({ host, port });
    const done = (): void => {
      socket.destroy();
      resolve();
    };
    socket.setTimeout(5000, done);
    socket.once('error', done);
    socket.once('close', done);
    socket.once('connect', () => {
      const message = Buffer.alloc(16);
      message.writeInt32BE(16, 0);
      message.writeInt32BE(80877102, 4);
      message.writeInt32BE(processId, 8);
      message.writeInt32BE(secretKey, 12);
      socket.end(message);
    });
  });
}

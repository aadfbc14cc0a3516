import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 to one server (the test Redis), whose connections a test can cut: every
 * open one is closed and new ones are refused until it is restored. What a network partition
 * between one replica and Redis looks like to that replica.
 */
export interface TcpRelay {
  port: number;
  cut(): void;
  restore(): void;
  close(): void;
}

export async function tcpRelay(host: string, port: number): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let cutting = false;
  const server = createServer(downstream => {
    if (cutting) {
      downstream.destroy();
      return;
    }
    const upstream = connect(port, host);
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        downstream.destroy();
        upstream.destroy();
      });
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      cutting = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      cutting = false;
    },
    close() {
      server.close();
      for (const socket of sockets) socket.destroy();
    }
  };
}

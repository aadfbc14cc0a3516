import type { Driver, PoolStats, QuerySpec, RowSink, ServerInfo, StreamStats } from './driver.ts';

/**
 * A driver whose module (and the engine's client library behind it) is loaded when the
 * environment first connects, not when the server starts: a server that serves SQLite never loads
 * tedious, mysql2 or pg, and starts in less time.
 */
export class LazyDriver implements Driver {
  private readonly load: () => Promise<Driver>;
  private loading: Promise<Driver> | undefined;
  private driver: Driver | undefined;

  constructor(load: () => Promise<Driver>) {
    this.load = load;
  }

  async init(): Promise<ServerInfo> {
    return (await this.loaded()).init();
  }

  stream(query: QuerySpec, sink: RowSink, signal: AbortSignal): Promise<StreamStats> {
    if (this.driver !== undefined) return this.driver.stream(query, sink, signal);
    return this.loaded().then(driver => driver.stream(query, sink, signal));
  }

  async destroy(): Promise<void> {
    if (this.loading === undefined) return;
    await (await this.loading).destroy();
  }

  poolStats(): PoolStats | undefined {
    return this.driver?.poolStats?.();
  }

  private loaded(): Promise<Driver> {
    this.loading ??= this.load().then(driver => {
      this.driver = driver;
      return driver;
    });
    return this.loading;
  }
}

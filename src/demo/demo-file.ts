/** The demo database's file name in the data directory (kept apart so that configuration checks load no demo code). */
export const DEMO_FILE = 'demo.sqlite';

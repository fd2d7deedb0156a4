// "Is a daemon running on this MINIPOD_HOME?" is answered by a kernel file lock,
// not by a pid: a pid outlives its process as a zombie and may be reused, while
// the kernel drops a dead process's locks at once, kill -9 included. The lock is
// SQLite's exclusive lock (a POSIX record lock) on $MINIPOD_HOME/daemon.lock,
// through the SQLite binding the store already uses, held by the daemon until it
// exits.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);
const lockFile = (home: string) => join(home, 'daemon.lock');

function open(home: string): BetterSqlite3.Database {
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(lockFile(home), { timeout: 0 });
  db.pragma('journal_mode = MEMORY'); // no journal file beside the lock
  return db;
}

const busy = (err: unknown) => (err as { code?: string }).code?.startsWith('SQLITE_BUSY') || (err as { code?: string }).code === 'SQLITE_LOCKED';

/** Takes the lock for this process's lifetime; undefined when another process holds it. */
export function acquireDaemonLock(home: string): { release(): void } | undefined {
  let db: BetterSqlite3.Database;
  try {
    db = open(home);
  } catch (err) {
    if (busy(err)) return undefined;
    throw err;
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in EXCLUSIVE mode it is kept after COMMIT.
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS daemon (pid INTEGER); DELETE FROM daemon; COMMIT;');
    db.prepare('INSERT INTO daemon (pid) VALUES (?)').run(process.pid);
    return { release: () => db.close() };
  } catch (err) {
    db.close();
    if (busy(err)) return undefined;
    throw err;
  }
}

/** True while a live process holds the lock. */
export function daemonLockHeld(home: string): boolean {
  let db: BetterSqlite3.Database;
  try {
    db = open(home);
  } catch (err) {
    if (busy(err)) return true;
    throw err;
  }
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get(); // a shared lock: refused while the daemon holds its exclusive one
    return false;
  } catch (err) {
    if (busy(err)) return true;
    throw err;
  } finally {
    db.close();
  }
}

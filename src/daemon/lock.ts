// "Is a daemon running on this MINIPOD_HOME?" is answered by a kernel file lock,
// not by a pid: a pid outlives its process as a zombie and may be reused, while
// the kernel drops a dead process's locks at once, kill -9 included. The lock is
// SQLite's exclusive lock (a POSIX record lock) on $MINIPOD_HOME/daemon.lock,
// through the SQLite binding the store already uses, held by the daemon until it
// exits.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);
/** The daemon's lock on its home; a node agent holds one of its own (see `minipod node join`). */
export const daemonLockFile = (home: string) => join(home, 'daemon.lock');

function open(file: string, mustExist = false): BetterSqlite3.Database {
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(file, { timeout: 0, fileMustExist: mustExist });
  db.pragma('journal_mode = MEMORY'); // no journal file beside the lock
  return db;
}

const busy = (err: unknown) => (err as { code?: string }).code?.startsWith('SQLITE_BUSY') || (err as { code?: string }).code === 'SQLITE_LOCKED';

/** Takes the lock for this process's lifetime; undefined when another process holds it. */
export function acquireDaemonLock(home: string): { release(): void } | undefined {
  return acquireLock(daemonLockFile(home));
}

/** True while a live process holds the daemon's lock on `home`. */
export function daemonLockHeld(home: string): boolean {
  return lockHeld(daemonLockFile(home));
}

export function acquireLock(file: string): { release(): void } | undefined {
  let db: BetterSqlite3.Database;
  try {
    db = open(file);
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

/**
 * True while a live process holds the lock in `file`. With `mustExist` a missing
 * file is not created (it is another's: look, do not touch) and answers false.
 */
export function lockHeld(file: string, mustExist = false): boolean {
  if (mustExist && !existsSync(file)) return false;
  let db: BetterSqlite3.Database;
  try {
    db = open(file, mustExist);
  } catch (err) {
    if (busy(err)) return true;
    if (mustExist && (err as { code?: string }).code === 'SQLITE_CANTOPEN') return false;
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

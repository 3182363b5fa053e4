// The job store: one SQLite file (node:sqlite, WAL) shared by every process.
// A job is queued, running (claimed under a lease) or done. Claiming is one
// UPDATE, so two workers never claim the same job; completion is guarded by
// the lease and written in the same transaction as the job's result, so a job
// is done exactly once. A worker that crashes mid-job leaves no result; its
// lease expires and the job is claimed again (attempts counts the tries).
import * as Fs from "node:fs"
import * as Path from "node:path"
import { DatabaseSync } from "node:sqlite"
import type { Job, JobState } from "./protocol.ts"

const schema = `
CREATE TABLE IF NOT EXISTS jobs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT NOT NULL,
  key         TEXT UNIQUE,
  state       TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until INTEGER,
  created_at  INTEGER NOT NULL,
  finished_at INTEGER,
  result      TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, id);
-- One row per completed job: the primary key makes a second completion impossible.
CREATE TABLE IF NOT EXISTS completions (
  job_id INTEGER PRIMARY KEY REFERENCES jobs (id),
  worker TEXT NOT NULL,
  at     INTEGER NOT NULL
);`

interface Row {
  id: number
  name: string
  state: JobState
  attempts: number
  created_at: number
  finished_at: number | null
  result: string | null
}

const toJob = (row: Row): Job => ({
  id: row.id,
  name: row.name,
  state: row.state,
  attempts: row.attempts,
  createdAt: new Date(row.created_at).toISOString(),
  finishedAt: row.finished_at === null ? null : new Date(row.finished_at).toISOString(),
  result: row.result
})

/** Creates the folder, the file and the schema; run once by the parent before any child starts. */
export const create = (path: string): DatabaseSync => {
  Fs.mkdirSync(Path.dirname(path), { recursive: true })
  const db = new DatabaseSync(path)
  db.exec("PRAGMA journal_mode = WAL")
  db.exec("PRAGMA busy_timeout = 5000")
  db.exec(schema)
  return db
}

/** Opens the existing database (children). */
export const open = (path: string): DatabaseSync => {
  const db = new DatabaseSync(path, { open: true })
  db.exec("PRAGMA busy_timeout = 5000")
  return db
}

export const makeStore = (db: DatabaseSync) => {
  const insert = db.prepare("INSERT INTO jobs (name, key, created_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING")
  const byId = db.prepare("SELECT * FROM jobs WHERE id = ?")
  const byKey = db.prepare("SELECT * FROM jobs WHERE key = ?")
  const claim = db.prepare(`
    UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_until = ?
    WHERE id = (
      SELECT id FROM jobs WHERE state = 'queued' OR (state = 'running' AND lease_until < ?) ORDER BY id LIMIT 1
    )
    RETURNING *`)
  const finish = db.prepare(`
    UPDATE jobs SET state = 'done', finished_at = ?, result = ?, lease_owner = NULL, lease_until = NULL
    WHERE id = ? AND state = 'running' AND lease_owner = ?`)
  const complete = db.prepare("INSERT INTO completions (job_id, worker, at) VALUES (?, ?, ?)")
  const counts = db.prepare("SELECT state, count(*) AS n FROM jobs GROUP BY state")
  return {
    submit: (name: string, key: string | null = null): Job => {
      const result = insert.run(name, key, Date.now())
      const row = result.changes === 1 ? byId.get(result.lastInsertRowid) : byKey.get(key)
      return toJob(row as unknown as Row)
    },
    get: (id: number): Job | undefined => {
      const row = byId.get(id)
      return row === undefined ? undefined : toJob(row as unknown as Row)
    },
    list: (state: JobState | undefined, limit: number): Array<Job> => {
      const rows = state === undefined
        ? db.prepare("SELECT * FROM jobs ORDER BY id DESC LIMIT ?").all(limit)
        : db.prepare("SELECT * FROM jobs WHERE state = ? ORDER BY id DESC LIMIT ?").all(state, limit)
      return (rows as unknown as Array<Row>).map(toJob)
    },
    /** Claims the oldest queued job (or one whose lease expired) for `owner`. */
    claim: (owner: string, leaseMs: number): Job | undefined => {
      const now = Date.now()
      const row = claim.get(owner, now + leaseMs, now)
      return row === undefined ? undefined : toJob(row as unknown as Row)
    },
    /** Marks the job done with its result, if `owner` still holds its lease. */
    complete: (id: number, owner: string, result: string): boolean => {
      db.exec("BEGIN IMMEDIATE")
      try {
        const now = Date.now()
        const done = finish.run(now, result, id, owner).changes === 1
        if (done) complete.run(id, owner, now)
        db.exec("COMMIT")
        return done
      } catch (error) {
        db.exec("ROLLBACK")
        throw error
      }
    },
    counts: (): Record<JobState, number> => {
      const all: Record<JobState, number> = { queued: 0, running: 0, done: 0 }
      for (const row of counts.all() as unknown as Array<{ state: JobState; n: number }>) all[row.state] = row.n
      return all
    }
  }
}

export type Store = ReturnType<typeof makeStore>

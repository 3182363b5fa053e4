// The background worker: claims queued jobs one at a time and runs them
// (WORK_MS of simulated work each). The job in hand is uninterruptible: on
// SIGTERM, or when the supervisor is gone, it is finished and marked done
// before the worker exits; only the wait for the next job is interrupted.
// It is ready once it opened the database.
import * as Effect from "effect/Effect"
import { SupervisedChild } from "../../src/index.ts"
import * as Store from "./store.ts"

const store = Store.makeStore(Store.open(process.env.DB_PATH!))
const workMs = Number(process.env.WORK_MS ?? 300)
const leaseMs = Number(process.env.LEASE_MS ?? 30_000)
const owner = `worker-${process.pid}`

const runOne = Effect.gen(function*() {
  const job = store.claim(owner, leaseMs)
  if (job === undefined) return false
  console.log(`job ${job.id} started: ${job.name} (attempt ${job.attempts})`)
  yield* Effect.sleep(workMs)
  const done = store.complete(job.id, owner, `${job.name}: ok`)
  console.log(done ? `job ${job.id} done` : `job ${job.id} lost its lease; another worker owns it`)
  return true
}).pipe(Effect.uninterruptible)

const main = Effect.gen(function*() {
  console.log(`ready, pid ${process.pid}, claiming jobs as ${owner}`)
  // The database is open (above, when the module loaded): tell the supervisor (READY=1 on fd 3).
  yield* SupervisedChild.notifyReady
  while (true) {
    // Polling the shared file is the simplest cross-process wake-up for an example.
    if (!(yield* runOne)) yield* Effect.sleep("100 millis")
  }
})

SupervisedChild.runMain(main)

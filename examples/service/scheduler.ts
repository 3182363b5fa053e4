// The scheduler: enqueues a periodic job every SCHEDULE_EVERY_MS. The job's
// key is its time slot, so a restart within the same slot does not enqueue
// it twice.
import * as Effect from "effect/Effect"
import { SupervisedChild } from "../../src/index.ts"
import * as Store from "./store.ts"

const store = Store.makeStore(Store.open(process.env.DB_PATH!))
const everyMs = Number(process.env.SCHEDULE_EVERY_MS ?? 5_000)

const enqueue = Effect.sync(() => {
  const slot = Math.floor(Date.now() / everyMs)
  const job = store.submit("periodic cleanup", `periodic:${everyMs}:${slot}`)
  console.log(`enqueued job ${job.id} (${job.name})`)
})

const main = Effect.gen(function*() {
  console.log(`ready, pid ${process.pid}, one periodic job every ${everyMs} ms`)
  while (true) {
    yield* enqueue
    yield* Effect.sleep(everyMs - (Date.now() % everyMs))
  }
})

SupervisedChild.runMain(main)

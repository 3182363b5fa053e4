// An API worker: serves the Jobs gRPC API on HOST:PORT (default 127.0.0.1),
// and tells the supervisor it is ready once the port is bound. On SIGTERM (or
// when the supervisor is gone) it answers the long polls at once, stops
// accepting calls and lets the in-flight ones finish (grpc-js tryShutdown),
// then exits.
import * as Grpc from "@grpc/grpc-js"
import * as Effect from "effect/Effect"
import { GrpcServer, SupervisedChild } from "../../src/index.ts"
import { address } from "./config.ts"
import type { GetJobRequest, ListJobsRequest, SubmitJobRequest } from "./protocol.ts"
import { JobsService } from "./protocol.ts"
import * as Store from "./store.ts"

const store = Store.makeStore(Store.open(process.env.DB_PATH!))

type Unary<Req> = Grpc.handleUnaryCall<Req, unknown>

const fail = (code: Grpc.status, details: string) => Object.assign(new Error(details), { code, details })

const submitJob: Unary<SubmitJobRequest> = (call, callback) => {
  const name = typeof call.request.name === "string" ? call.request.name.trim() : ""
  if (name === "") return callback(fail(Grpc.status.INVALID_ARGUMENT, "name must be a non-empty string"))
  const job = store.submit(name, call.request.key ?? null)
  console.log(`job ${job.id} submitted: ${job.name}`)
  callback(null, job)
}

// Aborted when the drain starts: a long poll then answers at once with the job as it is, so
// that it does not hold the drain; the client polls again if it needs to.
const draining = new AbortController()

const getJob: Unary<GetJobRequest> = (call, callback) => {
  const id = Number(call.request.id)
  const waitMs = Math.min(Math.max(Number(call.request.waitMs ?? 0), 0), 60_000)
  const waitUntil = Date.now() + waitMs
  let timer: NodeJS.Timeout | undefined
  const answer = () => {
    const job = store.get(id)
    if (job === undefined) return finish(fail(Grpc.status.NOT_FOUND, `no job ${id}`))
    // A long poll: the worker is another process, so look again shortly.
    if (job.state !== "done" && Date.now() < waitUntil && !call.cancelled && !draining.signal.aborted) {
      timer = setTimeout(answer, 50)
      return
    }
    if (waitMs > 0 && draining.signal.aborted) console.log(`job ${id}: answered ${job.state}, draining`)
    finish(null, job)
  }
  const finish = (error: Error | null, job?: unknown) => {
    clearTimeout(timer)
    draining.signal.removeEventListener("abort", answer)
    callback(error, job)
  }
  if (waitMs > 0) {
    console.log(`job ${id}: waiting up to ${waitMs} ms for it to be done`)
    draining.signal.addEventListener("abort", answer)
  }
  answer()
}

const listJobs: Unary<ListJobsRequest> = (call, callback) =>
  callback(null, { jobs: store.list(call.request.state, Math.min(Number(call.request.limit ?? 50), 1000)) })

const main = Effect.gen(function*() {
  const host = process.env.HOST ?? "127.0.0.1"
  const server = yield* GrpcServer.make({
    name: "jobs",
    address: address(host, Number(process.env.PORT ?? 0)),
    register: (server) => server.addService(JobsService, { submitJob, getJob, listJobs })
  })
  // Runs first on the drain: end the long polls, stop accepting, wait for the calls in flight.
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => draining.abort()).pipe(
      Effect.andThen(server.requestStop),
      Effect.andThen(Effect.sync(() => console.log("refusing new calls; finishing the ones in flight"))),
      Effect.andThen(server.ended)
    )
  )
  console.log(`listening on ${address(host, server.port)}, pid ${process.pid}`)
  // The port accepts connections: the supervisor may count this worker ready (READY=1 on fd 3).
  yield* SupervisedChild.notifyReady
  return yield* Effect.never
})

SupervisedChild.runMain(Effect.scoped(main))

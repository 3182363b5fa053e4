// The health endpoint, over real HTTP on loopback, with the supervision's time on the TestClock.
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Child from "../src/Child.ts"
import * as HealthServer from "../src/HealthServer.ts"
import * as ShutdownSignal from "../src/ShutdownSignal.ts"
import * as Supervisor from "../src/Supervisor.ts"
import * as SupervisorState from "../src/SupervisorState.ts"
import { child, layerFor } from "./helpers/testClock.ts"

interface Reply {
  readonly status: number
  readonly body: string
}

const request = (port: number, path: string, method = "GET") =>
  Effect.promise(() =>
    new Promise<Reply | { readonly refused: string }>((resolve) => {
      const req = Http.request({ host: "127.0.0.1", port, path, method, agent: false }, (response) => {
        let body = ""
        response.setEncoding("utf8").on("data", (chunk) => (body += chunk)).on("end", () =>
          resolve({ status: response.statusCode!, body }))
      })
      req.on("error", (error: NodeJS.ErrnoException) => resolve({ refused: error.code ?? error.message }))
      req.end()
    })
  )

/** The health member, with its port handed to the test. */
const health = (port: { value: number }) =>
  Effect.tap(HealthServer.make({ address: "127.0.0.1:0" }), (server) => Effect.sync(() => (port.value = server.port)))

describe("HealthServer", () => {
  it.effect("livez while supervising; readyz 200 when every member is ready, 503 from the first signal, before any stop request", () =>
    Effect.gen(function*() {
      const port = { value: 0 }
      const fiber = yield* Supervisor.supervise({
        children: [child("api")],
        servers: [health(port)],
        budget: "10 seconds",
        drainDelay: "2 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* SupervisorState.reached("ready")
      assert.deepStrictEqual(yield* request(port.value, "/livez"), { status: 200, body: "ok: ready\n" })
      assert.deepStrictEqual(yield* request(port.value, "/readyz"), { status: 200, body: "ready\n" })
      const metrics = yield* request(port.value, "/metrics")
      assert.strictEqual((metrics as Reply).status, 200)
      assert.include((metrics as Reply).body, "supervisor_state{state=\"ready\"} 1")
      assert.deepStrictEqual(yield* request(port.value, "/nope"), {
        status: 404,
        body: "not found; try /livez, /readyz or /metrics\n"
      })
      assert.deepStrictEqual(yield* request(port.value, "/readyz", "POST"), { status: 405, body: "method not allowed\n" })

      yield* ShutdownSignal.deliver("SIGTERM")
      // The delay runs on the test clock: the members still serve, not ready any more.
      assert.deepStrictEqual(yield* request(port.value, "/readyz"), { status: 503, body: "not ready: draining\n" })
      assert.deepStrictEqual(yield* request(port.value, "/livez"), { status: 200, body: "ok: draining\n" })
      yield* TestClock.adjust("2 seconds")
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.verdict, "drained")
      assert.deepStrictEqual(yield* request(port.value, "/livez"), { refused: "ECONNREFUSED" })
    }).pipe(Effect.provide(layerFor({ api: {} }))))

  it.effect("while a member is not ready yet, readyz is 503 with the phase; 200 once it is", () =>
    Effect.gen(function*() {
      const listening = yield* Deferred.make<number>()
      const fiber = yield* Supervisor.supervise({
        children: [Child.make({ name: "api", command: "api", readiness: "notify" })],
        servers: [Effect.tap(HealthServer.make({ address: "127.0.0.1:0" }), (server) => Deferred.succeed(listening, server.port))],
        budget: "10 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      const port = yield* Deferred.await(listening)
      assert.deepStrictEqual(yield* request(port, "/readyz"), { status: 503, body: "not ready: starting\n" })
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(yield* request(port, "/readyz"), { status: 200, body: "ready\n" })
      yield* ShutdownSignal.deliver("SIGTERM")
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(layerFor({ api: { readyAfter: "2 seconds" } }))))

  it.live("a taken address is a typed error naming it; a malformed one too", () =>
    Effect.gen(function*() {
      const holder = Net.createServer()
      yield* Effect.promise(() => new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve)))
      const taken = `127.0.0.1:${(holder.address() as Net.AddressInfo).port}`
      const error = yield* Effect.flip(Effect.scoped(HealthServer.make({ address: taken })))
      holder.close()
      assert.strictEqual(error._tag, "HealthBindError")
      assert.match(error.message, new RegExp(`^health endpoint "health" could not listen on ${taken}: .*EADDRINUSE`))
      const malformed = yield* Effect.flip(Effect.scoped(HealthServer.make({ name: "probe", address: "localhost" })))
      assert.strictEqual(malformed.message, `health endpoint "probe" could not listen on localhost: not a host:port address`)
    }).pipe(Effect.provide(Layer.mergeAll(layerFor({})))))
})

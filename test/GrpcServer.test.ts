// A real grpc-js server on loopback: its drain is the thing under test.
import { assert, describe, it } from "@effect/vitest"
import * as Grpc from "@grpc/grpc-js"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as GrpcServer from "../src/GrpcServer.ts"
import * as Output from "../src/Output.ts"
import * as ShutdownSignal from "../src/ShutdownSignal.ts"
import * as Supervisor from "../src/Supervisor.ts"
import * as SupervisorMetrics from "../src/SupervisorMetrics.ts"
import * as SupervisorState from "../src/SupervisorState.ts"
import type * as Child from "../src/Child.ts"
import { callWait, slowCalls } from "./helpers/slowService.ts"

const layer = Layer.mergeAll(
  ShutdownSignal.layerTest,
  SupervisorMetrics.layerTest,
  Output.layerTest,
  SupervisorState.layer,
  NodeFileSystem.layer
)
const noChildren: ReadonlyArray<Effect.Effect<Child.Child>> = []

interface Observed {
  readonly port: number
  /** Completed when the supervisor has issued the server's stop request. */
  readonly stopRequested: Deferred.Deferred<void>
}

/** The server as a member, announcing its port and its stop request to the test. */
const observed = (spec: GrpcServer.Spec, ready: Deferred.Deferred<Observed>) =>
  Effect.gen(function*() {
    const stopRequested = yield* Deferred.make<void>()
    const server = yield* GrpcServer.make(spec)
    yield* Deferred.succeed(ready, { port: server.port, stopRequested })
    return { ...server, requestStop: Effect.andThen(server.requestStop, Deferred.succeed(stopRequested, undefined)) }
  })

describe("GrpcServer", () => {
  it.live("an in-flight RPC completes during the drain while new RPCs are refused", () =>
    Effect.gen(function*() {
      const calls = slowCalls()
      const ready = yield* Deferred.make<Observed>()
      const member = observed({ name: "admin", address: "127.0.0.1:0", register: calls.register }, ready)
      const fiber = yield* Supervisor.supervise({ children: noChildren, servers: [member], budget: "5 seconds" }).pipe(
        Effect.forkChild
      )
      const { port, stopRequested } = yield* Deferred.await(ready)
      const inFlight = callWait(port, 1)
      yield* Effect.promise(() => calls.arrived)
      yield* ShutdownSignal.deliver("SIGTERM")
      yield* Deferred.await(stopRequested)
      const refused = yield* Effect.promise(() => callWait(port, 2))
      assert.strictEqual(refused.code, Grpc.status.UNAVAILABLE)
      assert.isUndefined(fiber.pollUnsafe(), "the drain waits for the in-flight call")
      calls.release()
      assert.deepStrictEqual(yield* Effect.promise(() => inFlight), { reply: { id: 1, done: true } })
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.members[0].end._tag, "Stopped")
      assert.isTrue(report.budgetHeld)
    }).pipe(Effect.provide(layer)))

  it.live("a server whose call never finishes is forced at the budget, failing the call", () =>
    Effect.gen(function*() {
      const calls = slowCalls()
      const server = yield* GrpcServer.make({ name: "admin", address: "127.0.0.1:0", register: calls.register })
      const inFlight = callWait(server.port, 1)
      yield* Effect.promise(() => calls.arrived)
      const fiber = yield* Supervisor.supervise({
        children: noChildren,
        servers: [Effect.succeed(server)],
        budget: "200 millis"
      }).pipe(Effect.forkChild)
      yield* SupervisorState.reached("ready")
      yield* ShutdownSignal.deliver("SIGTERM")
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.members[0].end._tag, "Forced")
      assert.isDefined((yield* Effect.promise(() => inFlight)).code)
      calls.release()
    }).pipe(Effect.scoped, Effect.provide(layer)))

  it.live("binding a taken port is a typed error naming the address", () =>
    Effect.gen(function*() {
      const first = yield* GrpcServer.make({ name: "first", address: "127.0.0.1:0", register: () => {} })
      const address = `127.0.0.1:${first.port}`
      const error = yield* Effect.flip(GrpcServer.make({ name: "second", address, register: () => {} }))
      assert.strictEqual(error._tag, "GrpcBindError")
      assert.strictEqual(error.address, address)
      assert.match(error.message, new RegExp(`^gRPC server "second" could not bind ${address}: `))
    }).pipe(Effect.scoped))

  it.live("closing its scope asks the server to stop", () =>
    Effect.gen(function*() {
      const server = yield* Effect.scoped(GrpcServer.make({ name: "admin", address: "127.0.0.1:0", register: () => {} }))
      yield* server.ended
      assert.isTrue(yield* server.hasEnded)
      assert.strictEqual((yield* Effect.promise(() => callWait(server.port, 1))).code, Grpc.status.UNAVAILABLE)
    }))
})

// GrpcServer at the edges of its life: an interruption while it binds, and a force.
import { assert, describe, it } from "@effect/vitest"
import * as Grpc from "@grpc/grpc-js"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Net from "node:net"
import * as GrpcServer from "../src/GrpcServer.ts"
import * as Member from "../src/Member.ts"
import { callWait, slowCalls } from "./helpers/slowService.ts"

/** A port that was free a moment ago: bound on port 0 by a throwaway server, then closed. */
const freePort = Effect.promise(() =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })
)

/** Whether something accepts connections on the port. */
const accepts = (port: number) =>
  Effect.promise(() =>
    new Promise<boolean>((resolve) => {
      const socket = Net.connect(port, "127.0.0.1")
      socket.once("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
  )

/**
 * A `register` that watches the bind from the inside: `started` once bindAsync was called,
 * `settled` once its callback has returned (whatever the server did with the result).
 */
const watchBind = () => {
  const seen = { started: false, settled: false }
  let settle!: () => void
  const settled = new Promise<void>((resolve) => (settle = resolve))
  const register = (server: Grpc.Server) => {
    const bindAsync = server.bindAsync.bind(server)
    server.bindAsync = (port, credentials, callback) => {
      seen.started = true
      bindAsync(port, credentials, (error, bound) => {
        callback(error, bound)
        seen.settled = true
        settle()
      })
    }
  }
  return { seen, settled, register }
}

describe("GrpcServer bind", () => {
  it.live("interrupted while binding, it leaves no port open: the same port can be bound again", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const address = `127.0.0.1:${port}`
      const bind = watchBind()
      const fiber = yield* GrpcServer.make({ name: "admin", address, register: bind.register }).pipe(
        Effect.scoped,
        Effect.forkChild({ startImmediately: true })
      )
      assert.isTrue(bind.seen.started, "the bind has begun")
      assert.isFalse(bind.seen.settled, "and has not completed: the interruption comes during it")
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
      assert.isTrue(Exit.hasInterrupts(exit))
      // The bind completes after its caller left: the server must close what it bound.
      yield* Effect.promise(() => bind.settled)
      assert.isFalse(yield* accepts(port), "nothing listens on the port")
      const again = yield* GrpcServer.make({ name: "admin-again", address, register: () => {} })
      assert.strictEqual(again.port, port)
      assert.isTrue(yield* accepts(port))
    }).pipe(Effect.scoped))
})

describe("GrpcServer force", () => {
  it.live("force ends the server at once: the in-flight call fails, the member ends Closed", () =>
    Effect.gen(function*() {
      const calls = slowCalls()
      const server = yield* GrpcServer.make({ name: "admin", address: "127.0.0.1:0", register: calls.register })
      assert.strictEqual(server.kind, "server")
      assert.isUndefined(server.pid)
      const inFlight = callWait(server.port, 1)
      yield* Effect.promise(() => calls.arrived)
      yield* server.requestStop // a graceful stop that would wait for the call...
      assert.isTrue(Option.isNone(yield* server.pollExit), "...which is still running")
      yield* server.force
      assert.deepStrictEqual(yield* server.exit, Member.End.Closed())
      yield* server.ended
      const result = yield* Effect.promise(() => inFlight)
      assert.isDefined(result.code, "the in-flight call was cut off")
      assert.isFalse(yield* accepts(server.port), "the port is closed")
      calls.release()
      yield* server.force // once ended, forcing again does nothing
    }).pipe(Effect.scoped))

  it.live("force without a stop request first also closes it", () =>
    Effect.gen(function*() {
      const server = yield* GrpcServer.make({ name: "admin", address: "127.0.0.1:0", register: () => {} })
      assert.isTrue(yield* accepts(server.port))
      yield* server.force
      assert.isTrue(yield* server.hasEnded)
      assert.isFalse(yield* accepts(server.port))
      assert.strictEqual((yield* Effect.promise(() => callWait(server.port, 1))).code, Grpc.status.UNAVAILABLE)
    }).pipe(Effect.scoped))
})

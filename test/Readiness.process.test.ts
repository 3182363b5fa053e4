// Readiness with real processes: children that write READY=1 on their lifeline (fd 3), from a
// shell and through SupervisedChild, one that never does, and /readyz over real HTTP.
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Fs from "node:fs"
import * as Child from "../src/Child.ts"
import * as HealthServer from "../src/HealthServer.ts"
import * as Member from "../src/Member.ts"
import * as ShutdownSignal from "../src/ShutdownSignal.ts"
import * as Supervisor from "../src/Supervisor.ts"
import * as SupervisorState from "../src/SupervisorState.ts"
import { live } from "./helpers/live.ts"
import { fixture, isGone, killQuietly, tempFile, waitForLines } from "./helpers/processes.ts"

const phase = SupervisorState.SupervisorState.use((state) => state.phase)

/** A file the child appends its events to, and a file whose existence is the test's go-ahead. */
const handshake = (name: string) => {
  const events = tempFile(`${name}.events`)
  const go = tempFile(`${name}.go`)
  return {
    env: { EVENTS_FILE: events, GO_FILE: go },
    /** Resolves with the events once there are `count`. */
    events: (count: number) => Effect.promise(() => waitForLines(events, count)),
    go: Effect.sync(() => Fs.writeFileSync(go, "")),
    /** SIGKILLs every pid it recorded, for a test that failed half-way. */
    cleanup: Effect.promise(() => waitForLines(events, 0)).pipe(
      Effect.map((lines) => killQuietly(lines.map((line) => Number(line.split(" ")[1]))))
    )
  }
}

// Records its pid, waits for the go-ahead, says READY=1 on fd 3 as sd_notify would, then sleeps.
const shellScript = [
  `echo "started $$" >> "$EVENTS_FILE"`,
  `while [ ! -e "$GO_FILE" ]; do sleep 0.01; done`,
  `echo READY=1 >&3`,
  `echo "notified $$" >> "$EVENTS_FILE"`,
  `exec sleep 30`
].join("; ")

const get = (port: number, path: string) =>
  Effect.promise(async () => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`)
    return { status: response.status, body: await response.text() }
  })

describe("readiness with real processes", () => {
  it.live("a shell child doing `echo READY=1 >&3` is ready only once it wrote it: starting, then ready", () => {
    const shell = handshake("shell")
    return Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [Child.make({ name: "shell", command: "sh", args: ["-c", shellScript], env: shell.env, readiness: "notify" })],
        budget: "5 seconds"
      }).pipe(Effect.forkChild)
      const [started] = yield* shell.events(1)
      // It runs, and has not said it is ready.
      assert.match(started, /^started \d+$/)
      assert.strictEqual(yield* phase, "starting")
      yield* shell.go
      yield* SupervisorState.reached("ready")
      assert.strictEqual(yield* phase, "ready")
      assert.match((yield* shell.events(2))[1], /^notified \d+$/)

      yield* ShutdownSignal.deliver("SIGTERM")
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.verdict, "drained")
      // `exec sleep` has no handler: killed by its stop signal, a clean stop.
      assert.deepStrictEqual(report.members[0].exit, Member.End.Exited({ code: null, signal: "SIGTERM" }))
      assert.isTrue(isGone(report.members[0].pid!))
    }).pipe(Effect.ensuring(shell.cleanup), Effect.provide(live))
  })

  it.live("a Node child through SupervisedChild.runMain and notifyReady: starting, then ready; drained on SIGTERM", () => {
    const node = handshake("node")
    return Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [Child.make({ name: "node", module: fixture("notifying-child.ts"), env: node.env, readiness: "notify" })],
        budget: "5 seconds"
      }).pipe(Effect.forkChild)
      yield* node.events(1)
      assert.strictEqual(yield* phase, "starting")
      yield* node.go
      yield* SupervisorState.reached("ready")
      assert.strictEqual(yield* phase, "ready")

      yield* ShutdownSignal.deliver("SIGTERM")
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.verdict, "drained")
      assert.deepStrictEqual(report.members[0].exit, Member.End.Exited({ code: 0, signal: null }))
      assert.deepStrictEqual((yield* node.events(3)).map((line) => line.split(" ")[0]), ["started", "notified", "drained"])
    }).pipe(Effect.ensuring(node.cleanup), Effect.provide(live))
  })

  it.live("a child that never notifies: after its startTimeout, a StartFailedError naming it; the others drained, nothing left", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Supervisor.run({
        children: [
          Child.make({ name: "other", command: "sleep", args: ["30"] }),
          Child.make({ name: "silent", command: "sleep", args: ["30"], readiness: "notify", startTimeout: "500 millis" })
        ],
        budget: "5 seconds"
      }))
      assert.strictEqual(error._tag, "StartFailedError")
      const report = (error as Supervisor.StartFailedError).report
      const silent = report.members.find((member) => member.name === "silent")!
      assert.strictEqual(error.message, `start failed: child silent (pid ${silent.pid}) was not ready within 500 ms`)
      assert.strictEqual(report.verdict, "start-failed")
      assert.deepStrictEqual(report.members.map((member) => [member.name, member.exit]), [
        ["other", Member.End.Exited({ code: null, signal: "SIGTERM" })],
        ["silent", Member.End.Exited({ code: null, signal: "SIGTERM" })]
      ])
      assert.deepStrictEqual(report.members.filter((member) => !isGone(member.pid!)), [])
    }).pipe(Effect.provide(live)))

  it.live("/readyz over real HTTP: 503 while the child is not ready, 200 once it notified, 503 from the signal on", () => {
    const node = handshake("health")
    return Effect.gen(function*() {
      const listening = yield* Deferred.make<number>()
      const fiber = yield* Supervisor.supervise({
        children: [Child.make({ name: "node", module: fixture("notifying-child.ts"), env: node.env, readiness: "notify" })],
        servers: [Effect.tap(HealthServer.make({ address: "127.0.0.1:0" }), (server) => Deferred.succeed(listening, server.port))],
        budget: "5 seconds",
        drainDelay: "500 millis"
      }).pipe(Effect.forkChild)
      const port = yield* Deferred.await(listening)
      yield* node.events(1)
      assert.deepStrictEqual(yield* get(port, "/readyz"), { status: 503, body: "not ready: starting\n" })
      yield* node.go
      yield* node.events(2)
      yield* SupervisorState.reached("ready")
      assert.deepStrictEqual(yield* get(port, "/readyz"), { status: 200, body: "ready\n" })

      yield* ShutdownSignal.deliver("SIGTERM")
      yield* SupervisorState.reached("draining")
      // In the drain delay: the endpoint still answers, not ready any more.
      assert.deepStrictEqual(yield* get(port, "/readyz"), { status: 503, body: "not ready: draining\n" })
      assert.deepStrictEqual(yield* get(port, "/livez"), { status: 200, body: "ok: draining\n" })
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.verdict, "drained")
      assert.isAtLeast(report.delayMillis, 500)
    }).pipe(Effect.ensuring(node.cleanup), Effect.provide(live))
  })
})

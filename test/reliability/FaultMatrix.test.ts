// The fault matrix: real processes, since each fault is something a real
// process does. Every case asserts the report and that no process is left.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Child from "../../src/Child.ts"
import * as GrpcServer from "../../src/GrpcServer.ts"
import * as Member from "../../src/Member.ts"
import * as ShutdownSignal from "../../src/ShutdownSignal.ts"
import * as Supervisor from "../../src/Supervisor.ts"
import { tempFile } from "../helpers/processes.ts"
import { leakedProcesses } from "../setup/processLeaks.ts"
import { alive, eventLog, faultyModule, parentModule } from "./helpers.ts"
import { live } from "../helpers/live.ts"


type Log = ReturnType<typeof eventLog>

const faulty = (log: Log, name: string, env: Record<string, string> = {}, stdio: Child.Stdio = "ignore") =>
  Child.make({ name, module: faultyModule, env: { ...env, NAME: name, LOG_FILE: log.file }, stdio })

const pidOf = (log: Log, name: string) => log.lines().find((line) => line.event === "ready" && line.name === name)!.pid

const ends = (report: { members: ReadonlyArray<{ name: string; end: { _tag: string } }> }) =>
  Object.fromEntries(report.members.map((member) => [member.name, member.end._tag]))

/** Runs a case, then checks that nothing it spawned is alive; SIGKILLs leftovers whatever happened. */
const fault = <A, E>(log: Log, body: Effect.Effect<A, E, Layer.Success<typeof live>>) =>
  body.pipe(
    Effect.andThen(Effect.sync(() => {
      assert.deepStrictEqual(alive(log.pids()), [], "no child or grandchild is left")
      assert.deepStrictEqual(leakedProcesses(), [], "no process spawned by this test is left")
    })),
    Effect.ensuring(Effect.sync(log.cleanup)),
    Effect.provide(live)
  )

describe("fault matrix (real processes)", () => {
  it.live("crash by exit code: the report names the child and its code, the sibling drains", () => {
    const log = eventLog("crash")
    return fault(log, Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [faulty(log, "crasher", { ON_USR2_EXIT_CODE: "3" }), faulty(log, "sibling", { DRAIN_MS: "50" })],
        budget: "5 seconds"
      }).pipe(Effect.forkChild)
      yield* Effect.promise(() => log.waitFor("ready", 2))
      process.kill(pidOf(log, "crasher"), "SIGUSR2")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.outcome, {
        _tag: "MemberExited",
        name: "crasher",
        kind: "child",
        pid: pidOf(log, "crasher"),
        end: Member.End.Exited({ code: 3, signal: null })
      })
      assert.deepStrictEqual(ends(report), { crasher: "AlreadyExited", sibling: "Stopped" })
      assert.isTrue(report.budgetHeld)
      assert.strictEqual(log.count("sigterm", "sibling"), 1)
      assert.strictEqual(log.count("sigterm", "crasher"), 0)
    }))
  })

  it.live("death by SIGKILL: the report names the signal", () => {
    const log = eventLog("sigkill")
    return fault(log, Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [faulty(log, "victim"), faulty(log, "sibling")],
        budget: "5 seconds"
      }).pipe(Effect.forkChild)
      yield* Effect.promise(() => log.waitFor("ready", 2))
      process.kill(pidOf(log, "victim"), "SIGKILL")
      const report = yield* Fiber.join(fiber)
      assert.deepInclude(report.outcome, { _tag: "MemberExited", name: "victim", end: Member.End.Exited({ code: null, signal: "SIGKILL" }) })
      assert.deepStrictEqual(ends(report), { victim: "AlreadyExited", sibling: "Stopped" })
    }))
  })

  it.live("SIGTERM ignored: SIGKILLed at the budget, not before; the others are not held up", () => {
    const log = eventLog("ignored")
    // Longer than the spawner's own graces (500 ms for group stragglers, 1 s for the group):
    // a SIGKILL from either before the budget would show as "Stopped" well under 1500 ms.
    const budget = 1_500
    return fault(log, Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [faulty(log, "deaf", { ON_SIGTERM: "ignore" }), faulty(log, "polite")],
        budget
      }).pipe(Effect.forkChild)
      yield* Effect.promise(() => log.waitFor("ready", 2))
      yield* ShutdownSignal.deliver("SIGTERM")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(ends(report), { deaf: "Forced", polite: "Stopped" })
      assert.strictEqual(report.forcedBy, "budget")
      assert.isAtLeast((report.members[0].end as { millis: number }).millis, budget)
      assert.isBelow((report.members[1].end as { millis: number }).millis, budget)
      assert.strictEqual(log.count("sigterm", "deaf"), 1, "it did get its stop request")
    }))
  })

  it.live("a drain that hangs: forced at the budget", () => {
    const log = eventLog("hang")
    return fault(log, Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [faulty(log, "stuck", { ON_SIGTERM: "hang" })],
        budget: "300 millis"
      }).pipe(Effect.forkChild)
      yield* Effect.promise(() => log.waitFor("ready", 1))
      yield* ShutdownSignal.deliver("SIGTERM")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(ends(report), { stuck: "Forced" })
      assert.isFalse(report.budgetHeld)
      assert.isAtLeast(report.drainMillis, 300)
      assert.strictEqual(log.count("sigterm", "stuck"), 1)
    }))
  })

  it.live("a grandchild left behind by a child that exits 0 is gone after the supervision", () => {
    const log = eventLog("grandchild")
    return fault(log, Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [faulty(log, "parent", { GRANDCHILD: "1", ON_USR2_EXIT_CODE: "0" }), faulty(log, "sibling")],
        budget: "1 second"
      }).pipe(Effect.forkChild)
      yield* Effect.promise(() => log.waitFor("ready", 3))
      const grandchild = pidOf(log, "parent-grandchild")
      process.kill(pidOf(log, "parent"), "SIGUSR2")
      const report = yield* Fiber.join(fiber)
      assert.deepInclude(report.outcome, { _tag: "MemberExited", name: "parent", end: Member.End.Exited({ code: 0, signal: null }) })
      // Its group outlived it: the grandchild, ignoring SIGTERM, was SIGKILLed at the budget.
      assert.deepStrictEqual(ends(report), { parent: "Forced", sibling: "Stopped" })
      assert.deepStrictEqual(alive([grandchild]), [], "the orphaned grandchild was killed with its group")
    }))
  })

  it.live("spawn of a missing file: a typed error, and the child started before it is stopped", () => {
    const log = eventLog("missing")
    return fault(log, Effect.gen(function*() {
      const failure = yield* Effect.flip(Supervisor.supervise({
        children: [faulty(log, "first"), Child.make({ name: "ghost", module: "/nonexistent/ghost.ts" })],
        budget: "5 seconds"
      }))
      assert(failure._tag === "ChildSpawnError")
      assert.strictEqual(failure.name, "ghost")
    }))
  })

  it.live("gRPC bind to a taken port: a typed error, and the children started before are stopped", () => {
    const log = eventLog("bind")
    return fault(log, Effect.gen(function*() {
      const holder = yield* GrpcServer.make({ name: "holder", address: "127.0.0.1:0", register: () => {} })
      const address = `127.0.0.1:${holder.port}`
      const failure = yield* Effect.flip(Supervisor.supervise({
        children: [faulty(log, "first"), faulty(log, "second")],
        servers: [GrpcServer.make({ name: "admin", address, register: () => {} })],
        budget: "5 seconds"
      }))
      assert(failure._tag === "GrpcBindError")
      assert.strictEqual(failure.address, address)
    }).pipe(Effect.scoped))
  })

  it.live("a child closing its stdout early is still running: only the signal ends the supervision", () => {
    const log = eventLog("closed")
    return fault(log, Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [faulty(log, "quiet", { CLOSE_STDOUT: "1" }, "prefixed"), faulty(log, "other", {}, "prefixed")],
        budget: "5 seconds"
      }).pipe(Effect.forkChild)
      yield* Effect.promise(() => log.waitFor("closed", 1))
      yield* Effect.promise(() => log.waitFor("ready", 2))
      assert.isUndefined(fiber.pollUnsafe(), "a closed stdout is not an exit")
      yield* ShutdownSignal.deliver("SIGTERM")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.outcome, { _tag: "Signalled", signal: "SIGTERM" })
      assert.deepStrictEqual(ends(report), { quiet: "Stopped", other: "Stopped" })
      assert.strictEqual(log.count("sigterm", "quiet"), 1)
    }))
  })

  it.live("all children exiting in the same millisecond: one outcome, one drain, every member accounted for", () => {
    const log = eventLog("same-ms")
    const names = ["a", "b", "c", "d", "e", "f"]
    return fault(log, Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: names.map((name) => faulty(log, name, { ON_USR2_EXIT_CODE: "5" })),
        budget: "5 seconds"
      }).pipe(Effect.forkChild)
      yield* Effect.promise(() => log.waitFor("ready", names.length))
      const pids = names.map((name) => pidOf(log, name))
      for (const pid of pids) process.kill(pid, "SIGUSR2")
      const report = yield* Fiber.join(fiber)
      assert(report.outcome._tag === "MemberExited")
      const outcome = report.outcome
      assert.include(names, outcome.name)
      assert.deepStrictEqual(outcome.end, Member.End.Exited({ code: 5, signal: null }))
      assert.deepStrictEqual(report.members.map((member) => member.name), names)
      assert.strictEqual(ends(report)[outcome.name], "AlreadyExited")
      // The others exited on their own in the same instant: already gone, or gone right after their stop request.
      for (const member of report.members) assert.include(["AlreadyExited", "Stopped"], member.end._tag)
      assert.isTrue(report.budgetHeld)
    }))
  })
})

/** A real supervising parent (fixtures/parent.ts), its output followed without keeping all of it. */
const startParent = (config: unknown, usageFile?: string) => {
  const child = ChildProcess.spawn(process.execPath, [parentModule], {
    env: { ...process.env, CONFIG: JSON.stringify(config), ...(usageFile ? { USAGE_FILE: usageFile } : {}) },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let bytes = 0
  let tail = ""
  const onData = (chunk: Buffer) => {
    bytes += chunk.length
    tail = (tail + chunk.toString("latin1")).slice(-65_536)
  }
  child.stdout.on("data", onData)
  child.stderr.on("data", onData)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
  return { pid: child.pid!, exited, bytes: () => bytes, tail: () => tail }
}

describe("fault matrix, faults of the supervising process itself", () => {
  it("50 SIGTERMs in a burst during the drain: one drain, each child stopped once, forced by the second signal, exit 124", async () => {
    const log = eventLog("burst")
    const parent = startParent({
      children: [
        { name: "slow", env: { LOG_FILE: log.file, ON_SIGTERM: "hang" } },
        { name: "quick", env: { LOG_FILE: log.file } }
      ],
      budget: 20_000
    })
    try {
      await log.waitFor("ready", 2)
      process.kill(parent.pid, "SIGTERM")
      // The first is seen (both children got their stop request); the other 49 arrive during the drain.
      await log.waitFor("sigterm", 2)
      for (let i = 0; i < 49; i++) process.kill(parent.pid, "SIGTERM")
      assert.deepStrictEqual(await parent.exited, { code: 124, signal: null })
      const output = parent.tail()
      assert.include(output, "received SIGTERM, shutting down")
      assert.include(output, "forced by a second signal")
      assert.match(output, /child slow \(pid \d+\): forced after \d+ ms/)
      // quick may have exited without the supervisor having seen it yet when the second signal lands.
      assert.match(output, /child quick \(pid \d+\): (stopped in|forced after) \d+ ms/)
      assert.strictEqual(log.count("sigterm", "slow"), 1)
      assert.strictEqual(log.count("sigterm", "quick"), 1)
      assert.deepStrictEqual(alive(log.pids()), [])
    } finally {
      log.cleanup()
      try {
        process.kill(parent.pid, "SIGKILL")
      } catch {
        // gone
      }
    }
  })

  it("a child writing 50 MB to stdout as fast as it can: all of it forwarded, the supervisor's memory stays bounded", async () => {
    const log = eventLog("flood")
    const usageFile = tempFile("usage.json")
    const floodBytes = 50 * 1024 * 1024
    const parent = startParent({
      children: [
        { name: "flood", env: { LOG_FILE: log.file, FLOOD_BYTES: String(floodBytes) }, stdio: "prefixed" },
        { name: "idle", env: { LOG_FILE: log.file } }
      ],
      budget: 5_000
    }, usageFile)
    try {
      // The flood ends by exiting 0 on its own, which ends the supervision.
      assert.deepStrictEqual(await parent.exited, { code: 1, signal: null })
      assert.include(parent.tail(), "child flood")
      // Every byte came through, each 1 KB line behind its "[flood] " prefix.
      assert.isAtLeast(parent.bytes(), floodBytes + (floodBytes / 1024) * "[flood] ".length)
      const usage: { startRss: number; peakRss: number } = JSON.parse(Fs.readFileSync(usageFile, "utf8"))
      const growth = usage.peakRss - usage.startRss
      // Buffering the flood would take 50 MB or more; forwarding with backpressure takes a few.
      console.log(`flood: start RSS ${(usage.startRss / 1048576).toFixed(1)} MB, peak ${(usage.peakRss / 1048576).toFixed(1)} MB`)
      assert.isBelow(growth, 40 * 1024 * 1024, `peak RSS grew by ${(growth / 1048576).toFixed(1)} MB`)
      assert.deepStrictEqual(alive(log.pids()), [])
    } finally {
      log.cleanup()
      try {
        process.kill(parent.pid, "SIGKILL")
      } catch {
        // gone
      }
    }
  })
})

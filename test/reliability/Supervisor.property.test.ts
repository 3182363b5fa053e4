// Property tests of the supervisor under TestClock: random schedules of child
// exits, drain durations, signals (a second one included) and budgets, checked
// against a model of what the supervisor must do.
import { assert, describe, it } from "vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import type { ShutdownReport } from "../../src/ShutdownReport.ts"
import type * as ShutdownSignal from "../../src/ShutdownSignal.ts"
import * as Supervisor from "../../src/Supervisor.ts"
import * as TestSpawner from "../../src/testing/TestSpawner.ts"
import { fakeServer, type ServerLog } from "../helpers/fakeServer.ts"
import { child, deliverAfter, layerFor } from "../helpers/testClock.ts"

// Times are multiples of 100 ms so that ties (two events in the same instant) are frequent.
const time = (max: number) => fc.integer({ min: 1, max }).map((n) => n * 100)
const drainTime = fc.oneof(fc.integer({ min: 0, max: 30 }).map((n) => n * 100), fc.constant("ignores" as const))

interface ChildPlan {
  readonly exitAfter: number | undefined
  readonly exit: { readonly code: number } | { readonly signal: string }
  readonly drain: number | "ignores"
}
interface ServerPlan {
  readonly stop: number | "ignores"
}
interface Schedule {
  readonly children: ReadonlyArray<ChildPlan>
  readonly servers: ReadonlyArray<ServerPlan>
  readonly firstSignal: { readonly at: number; readonly signal: ShutdownSignal.Signal } | undefined
  /** The second signal, this long after the first. */
  readonly secondSignalAfter: number | undefined
  readonly budget: number
}

const childPlan: fc.Arbitrary<ChildPlan> = fc.record({
  exitAfter: fc.option(time(30), { nil: undefined }),
  exit: fc.oneof(
    fc.record({ code: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ signal: fc.constantFrom("SIGKILL", "SIGSEGV") })
  ),
  drain: drainTime
})

const schedule: fc.Arbitrary<Schedule> = fc.record({
  children: fc.array(childPlan, { minLength: 1, maxLength: 5 }),
  servers: fc.array(fc.record({ stop: drainTime }), { maxLength: 2 }),
  firstSignal: fc.option(fc.record({ at: time(30), signal: fc.constantFrom("SIGTERM" as const, "SIGINT" as const) }), {
    nil: undefined
  }),
  secondSignalAfter: fc.option(time(30), { nil: undefined }),
  budget: time(30)
  // Something must end the supervision: a signal or a child's own exit.
}).filter((s) => s.firstSignal !== undefined || s.children.some((c) => c.exitAfter !== undefined))

const childName = (index: number) => `c${index}`
const serverName = (index: number) => `s${index}`

/** What the schedule says must happen, with the instants where a tie allows either answer. */
const model = (s: Schedule) => {
  const exits = s.children.flatMap((c, index) => c.exitAfter === undefined ? [] : [{ index, at: c.exitAfter }])
  const firstExit = Math.min(...exits.map((e) => e.at))
  const drainStart = Math.min(firstExit, s.firstSignal?.at ?? Infinity)
  const second = s.firstSignal !== undefined && s.secondSignalAfter !== undefined
    ? s.firstSignal.at + s.secondSignalAfter
    : Infinity
  const budgetEnd = drainStart + s.budget
  const forceAt = Math.min(budgetEnd, second)
  return { exits, firstExit, drainStart, second, budgetEnd, forceAt }
}

const runSchedule = (s: Schedule) => {
  const m = model(s)
  const scripts: Record<string, TestSpawner.Script> = {}
  s.children.forEach((c, index) => {
    scripts[childName(index)] = {
      exitAfter: c.exitAfter,
      ...("code" in c.exit ? { exitCode: c.exit.code } : { exitSignal: c.exit.signal }),
      ...(c.drain === "ignores" ? { ignoresSigterm: true } : { drainFor: c.drain })
    }
  })
  const logs: Array<ServerLog> = s.servers.map(() => ({ stopRequests: [], forces: [] }))
  return Effect.gen(function*() {
    const fiber = yield* Supervisor.supervise({
      children: s.children.map((_, index) => child(childName(index))),
      servers: s.servers.map((server, index) =>
        fakeServer(
          serverName(index),
          server.stop === "ignores" ? { ignoresStop: true } : { stopsAfter: server.stop },
          logs[index]
        )
      ),
      budget: s.budget
    }).pipe(Effect.forkChild({ startImmediately: true }))
    if (s.firstSignal !== undefined) {
      yield* deliverAfter(s.firstSignal.signal, s.firstSignal.at)
      if (s.secondSignalAfter !== undefined) {
        yield* deliverAfter(s.firstSignal.signal === "SIGTERM" ? "SIGINT" : "SIGTERM", m.second)
      }
    }
    // Up to the last instant of the budget, and not one millisecond further.
    yield* TestClock.adjust(m.budgetEnd)
    const done = fiber.pollUnsafe()
    assert.isDefined(done, "at the budget every member is stopped or forced and the report is out")
    const report = yield* Fiber.join(fiber)
    const events = yield* TestSpawner.events
    return { report, events, logs }
  }).pipe(// The supervisor logs every report; hundreds of runs would drown the test output.
    Effect.provide(Layer.mergeAll(layerFor(scripts), TestClock.layer(), Logger.layer([]))))
}

const check = (s: Schedule, result: { report: ShutdownReport; events: ReadonlyArray<TestSpawner.Event>; logs: Array<ServerLog> }) => {
  const { events, logs, report } = result
  const m = model(s)
  const D = m.drainStart

  // Exactly one outcome, and it is the earliest event (any of them, when several share the instant).
  const outcome = report.outcome
  if (outcome._tag === "ChildExited") {
    const index = Number(outcome.name.slice(1))
    const plan = s.children[index]
    assert.strictEqual(plan.exitAfter, D, "the child named exited first")
    assert.deepStrictEqual(
      { code: outcome.code, signal: outcome.signal },
      "code" in plan.exit ? { code: plan.exit.code, signal: null } : { code: null, signal: plan.exit.signal }
    )
  } else {
    assert.strictEqual(outcome._tag, "Signalled")
    assert.deepStrictEqual(outcome, { _tag: "Signalled", signal: s.firstSignal!.signal })
    assert.strictEqual(s.firstSignal!.at, D, "the signal came first")
  }

  // Each member's end, against the model.
  const members = [
    ...s.children.map((c) => ({ ownExit: c.exitAfter, drain: c.drain })),
    ...s.servers.map((server) => ({ ownExit: undefined, drain: server.stop }))
  ]
  assert.strictEqual(report.members.length, members.length)
  const ends: Array<number> = []
  let forcedCount = 0
  report.members.forEach((member, index) => {
    const plan = members[index]
    const end = member.end
    const label = `${member.name}: ${JSON.stringify(end)}`
    if (plan.ownExit !== undefined && plan.ownExit === D && end._tag === "AlreadyExited") return
    assert.notStrictEqual(end._tag, "AlreadyExited", label)
    const natural = Math.min(
      plan.ownExit !== undefined && plan.ownExit >= D ? plan.ownExit : Infinity,
      plan.drain === "ignores" ? Infinity : D + plan.drain
    )
    if (end._tag === "Stopped") {
      assert.isAtMost(natural, m.forceAt, `${label} stopped although forced earlier`)
      assert.strictEqual(end.millis, natural - D, label)
      ends.push(end.millis)
    } else if (end._tag === "Forced") {
      assert.isAtLeast(natural, m.forceAt, `${label} forced although it stops earlier`)
      assert.strictEqual(end.millis, m.forceAt - D, label)
      ends.push(end.millis)
      forcedCount++
    }
  })

  // The report's totals match the schedule.
  assert.strictEqual(report.budgetMillis, s.budget)
  assert.strictEqual(report.drainMillis, Math.max(0, ...ends))
  assert.strictEqual(report.budgetHeld, forcedCount === 0)
  if (forcedCount === 0) {
    assert.isUndefined(report.forcedBy)
  } else if (m.second < m.budgetEnd) {
    assert.strictEqual(report.forcedBy, "second-signal")
  } else if (m.second > m.budgetEnd) {
    assert.strictEqual(report.forcedBy, "budget")
  }
  assert.isAtMost(report.drainMillis, s.budget, "the drain never outlasts the budget")

  // Every member gets exactly one stop request, at the start of the drain; none for one already gone.
  report.members.forEach((member, index) => {
    const isChild = index < s.children.length
    const requests = isChild
      ? events.filter((e) => e.command === member.name && e.kind === "SIGTERM").map((e) => e.at)
      : logs[index - s.children.length].stopRequests
    const kills = isChild
      ? events.filter((e) => e.command === member.name && e.kind === "SIGKILL").map((e) => e.at)
      : logs[index - s.children.length].forces
    const label = `${member.name} (${member.end._tag}): stop requests ${JSON.stringify(requests)}, forces ${JSON.stringify(kills)}`
    const exitsAtDrainStart = isChild && s.children[index].exitAfter === D
    if (member.end._tag === "AlreadyExited") {
      assert.deepStrictEqual(requests, [], label)
    } else if (exitsAtDrainStart) {
      // It exits in the very instant the drain starts: the request may find it gone already.
      assert.includeDeepMembers([[], [D]], [requests], label)
    } else {
      assert.deepStrictEqual(requests, [D], label)
    }
    // Nothing is forced before the budget (or the second signal), and only what is reported forced.
    assert.isTrue(kills.every((at) => at === m.forceAt), label)
    if (member.end._tag !== "Forced") assert.deepStrictEqual(kills, [], label)
    else assert.isAtMost(kills.length, 1, label)
  })

  // No process outlives the supervision, and none had to be reaped by the spawner's scope.
  assert.deepStrictEqual(events.filter((e) => e.kind === "reaped"), [])
  s.children.forEach((_, index) => {
    const exited = events.filter((e) => e.command === childName(index) && e.kind === "exited")
    assert.strictEqual(exited.length, 1, `${childName(index)} exited once`)
    assert.isAtMost(exited[0].at, m.forceAt)
  })
}

// A fixed seed keeps `npm test` deterministic; FC_SEED explores others.
const seed = Number(process.env.FC_SEED ?? 20_261_125)
const numRuns = Number(process.env.FC_RUNS ?? 500)

describe("Supervisor.supervise, properties over random schedules", () => {
  it("one outcome (the earliest event), one stop request each, no force before the budget, totals match", async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (s) => {
        const result = await Effect.runPromise(runSchedule(s))
        check(s, result)
      }),
      { seed, numRuns }
    )
  })

  // The tie rules the properties rely on, pinned with explicit schedules.
  it("a member whose drain ends in the very instant of the budget is not forced", async () => {
    const result = await Effect.runPromise(runSchedule(edge))
    check(edge, result)
    assert.deepStrictEqual(result.report.members.map((member) => member.end._tag), ["Stopped", "Forced"])
  })
})

const edge: Schedule = {
  children: [
    { exitAfter: undefined, exit: { code: 1 }, drain: 1000 },
    { exitAfter: undefined, exit: { code: 1 }, drain: "ignores" }
  ],
  servers: [],
  firstSignal: { at: 500, signal: "SIGTERM" },
  secondSignalAfter: undefined,
  budget: 1000
}

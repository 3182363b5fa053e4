// Property tests of the supervisor under TestClock: random schedules of child
// exits, drain durations and how drains end, grandchildren that outlive their
// parent, stopped children, signals (a second one included), budgets, and the
// supervisor as PID 1 (exited grandchildren left as zombies), checked against a
// model of what the supervisor must do.
import { assert, describe, it } from "vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as Member from "../../src/Member.ts"
import type { Verdict } from "../../src/ShutdownReport.ts"
import type * as ShutdownSignal from "../../src/ShutdownSignal.ts"
import * as TestSpawner from "../../src/testing/TestSpawner.ts"
import { fakeServer, type ServerLog } from "../helpers/fakeServer.ts"
import { child, deliverAfter, layerFor, superviseStarted } from "../helpers/testClock.ts"

// Times are multiples of 100 ms so that ties (two events in the same instant) are frequent.
const time = (max: number) => fc.integer({ min: 1, max }).map((n) => n * 100)
const drainTime = fc.oneof(fc.integer({ min: 0, max: 30 }).map((n) => n * 100), fc.constant("ignores" as const))
// The child polls for the rest of its group every 10 ms once its leader has exited.
const groupPollMillis = 10

type Exit = { readonly code: number } | { readonly signal: string }

interface ChildPlan {
  readonly exitAfter: number | undefined
  readonly exit: Exit
  readonly drain: number | "ignores"
  /** How its drain ends. */
  readonly drainEnds: Exit
  /** SIGSTOPped from the start: it drains only thanks to the SIGCONT after its stop signal. */
  readonly stopped: boolean
  /** A grandchild in its process group, which may outlive it. */
  readonly grandchild: { readonly drain: number | "ignores" } | undefined
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
  /** The supervisor is PID 1: exited grandchildren stay zombies. */
  readonly pid1: boolean
}

const exitArb: fc.Arbitrary<Exit> = fc.oneof(
  fc.record({ code: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ signal: fc.constantFrom("SIGKILL", "SIGSEGV") })
)

const childPlan: fc.Arbitrary<ChildPlan> = fc.record({
  exitAfter: fc.option(time(30), { nil: undefined }),
  exit: exitArb,
  drain: drainTime,
  drainEnds: fc.oneof(
    { weight: 4, arbitrary: fc.constant({ code: 0 }) },
    { weight: 1, arbitrary: fc.constantFrom<Exit>({ code: 3 }, { signal: "SIGTERM" }, { signal: "SIGSEGV" }, { code: 143 }) }
  ),
  stopped: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  grandchild: fc.option(fc.record({ drain: drainTime }), { nil: undefined, freq: 3 })
})

const schedule: fc.Arbitrary<Schedule> = fc.record({
  children: fc.array(childPlan, { minLength: 1, maxLength: 5 }),
  servers: fc.array(fc.record({ stop: drainTime }), { maxLength: 2 }),
  firstSignal: fc.option(fc.record({ at: time(30), signal: fc.constantFrom("SIGTERM" as const, "SIGINT" as const) }), {
    nil: undefined
  }),
  secondSignalAfter: fc.option(time(30), { nil: undefined }),
  budget: time(30),
  pid1: fc.boolean()
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

const statusOf = (exit: Exit) => Member.End.Exited("code" in exit ? { code: exit.code, signal: null } : { code: null, signal: exit.signal })

/** When a child's leader and its grandchild end by themselves, the drain starting at D. */
const naturalEnds = (c: ChildPlan, D: number) => {
  const leaderDrain = c.drain === "ignores" ? Infinity : D + c.drain
  const ownExit = c.exitAfter !== undefined && c.exitAfter >= D ? c.exitAfter : Infinity
  const leader = c.exitAfter !== undefined && c.exitAfter < D ? c.exitAfter : Math.min(ownExit, leaderDrain)
  const grandchild = c.grandchild === undefined ? -Infinity : c.grandchild.drain === "ignores" ? Infinity : D + c.grandchild.drain
  return {
    leader,
    grandchild,
    tree: Math.max(leader, grandchild),
    drainedBeforeOwnExit: leaderDrain < ownExit,
    // Its drain and its own exit in the same instant: either may come first.
    tie: leaderDrain === ownExit && ownExit !== Infinity
  }
}

const runSchedule = (s: Schedule) => {
  const m = model(s)
  const scripts: Record<string, TestSpawner.Script> = {}
  s.children.forEach((c, index) => {
    scripts[childName(index)] = {
      exitAfter: c.exitAfter,
      ...("code" in c.exit ? { exitCode: c.exit.code } : { exitSignal: c.exit.signal }),
      ...(c.drain === "ignores" ? { ignoresSigterm: true } : { drainFor: c.drain }),
      drainEnds: c.drainEnds,
      stopped: c.stopped,
      group: c.grandchild === undefined
        ? undefined
        : [c.grandchild.drain === "ignores" ? { ignoresSigterm: true } : { drainFor: c.grandchild.drain }]
    }
  })
  const logs: Array<ServerLog> = s.servers.map(() => ({ stopRequests: [], forces: [] }))
  return Effect.gen(function*() {
    const fiber = yield* superviseStarted({
      children: s.children.map((_, index) => child(childName(index))),
      servers: s.servers.map((server, index) =>
        fakeServer(
          serverName(index),
          server.stop === "ignores" ? { ignoresStop: true } : { stopsAfter: server.stop },
          logs[index]
        )
      ),
      budget: s.budget
    })
    if (s.firstSignal !== undefined) {
      yield* deliverAfter(s.firstSignal.signal, s.firstSignal.at)
      if (s.secondSignalAfter !== undefined) {
        yield* deliverAfter(s.firstSignal.signal === "SIGTERM" ? "SIGINT" : "SIGTERM", m.second)
      }
    }
    // Up to the last instant of the budget, and not one millisecond further: then SIGKILL takes effect at once.
    yield* TestClock.adjust(m.budgetEnd)
    const done = fiber.pollUnsafe()
    assert.isDefined(done, "at the budget every member is stopped or forced and the report is out")
    const report = yield* Fiber.join(fiber)
    const events = yield* TestSpawner.events
    const running = yield* TestSpawner.running
    return { report, events, logs, running }
  }).pipe(// The supervisor logs every report; hundreds of runs would drown the test output.
    Effect.provide(Layer.mergeAll(layerFor(scripts, { pid1: s.pid1 }), TestClock.layer(), Logger.layer([]))))
}

type Result = Effect.Success<ReturnType<typeof runSchedule>>

const check = (s: Schedule, result: Result) => {
  const { events, logs, report, running } = result
  const m = model(s)
  const D = m.drainStart

  // Exactly one outcome, and it is the earliest event (any of them, when several share the instant).
  const outcome = report.outcome
  if (outcome._tag === "MemberExited") {
    const index = Number(outcome.name.slice(1))
    const plan = s.children[index]
    assert.strictEqual(plan.exitAfter, D, "the child named exited first")
    assert.deepStrictEqual(outcome.end, statusOf(plan.exit))
  } else {
    assert.deepStrictEqual(outcome, { _tag: "Signalled", signal: s.firstSignal!.signal })
    assert.strictEqual(s.firstSignal!.at, D, "the signal came first")
  }

  // Each member's end, against the model.
  assert.strictEqual(report.members.length, s.children.length + s.servers.length)
  const ends: Array<number> = []
  let forcedCount = 0
  let uncleanCount = 0
  report.members.forEach((member, index) => {
    const plan = index < s.children.length ? s.children[index] : undefined
    const server = plan === undefined ? s.servers[index - s.children.length] : undefined
    const end = member.end
    const label = `${member.name}: ${JSON.stringify(end)} ${JSON.stringify(plan ?? server)}`
    const natural = plan !== undefined
      ? naturalEnds(plan, D)
      : {
        leader: server!.stop === "ignores" ? Infinity : D + server!.stop,
        grandchild: -Infinity,
        tree: 0,
        drainedBeforeOwnExit: true,
        tie: false
      }
    const tree = plan !== undefined ? natural.tree : natural.leader
    // Found gone at the first poll at or after its end; a tie in that instant may cost one more poll.
    const lateness = natural.grandchild >= natural.leader ? groupPollMillis : 0
    if (tree < m.forceAt - lateness || tree === -Infinity) {
      assert.notStrictEqual(end._tag, "Forced", `${label} forced although it ends earlier`)
    } else if (tree > m.forceAt) {
      assert.strictEqual(end._tag, "Forced", `${label} not forced although it outlives the budget`)
    }
    if (end._tag === "Forced") {
      assert.strictEqual(end.millis, m.forceAt - D, label)
      assert.isFalse(member.clean, label)
      ends.push(end.millis)
      forcedCount++
      return
    }
    if (end._tag === "AlreadyExited") {
      assert.isTrue(plan !== undefined && plan.exitAfter !== undefined && plan.exitAfter <= D, label)
      // Its leader was gone before the drain; the drain still waited for its group.
      ends.push(Math.max(0, tree - D))
    } else {
      assert.isAtLeast(end.millis, Math.max(tree, D) - D, label)
      assert.isAtMost(end.millis, Math.max(tree, D) - D + lateness, label)
      ends.push(end.millis)
    }
    // How it ended, in its own terms, and whether that is a clean stop.
    const own = plan === undefined
      ? Member.End.Closed()
      : plan.exitAfter !== undefined && plan.exitAfter <= D || !natural.drainedBeforeOwnExit
      ? statusOf(plan.exit)
      : statusOf(plan.drainEnds)
    if (natural.tie && plan !== undefined) {
      assert.includeDeepMembers([statusOf(plan.exit), statusOf(plan.drainEnds)], [member.exit], label)
    } else {
      assert.deepStrictEqual(member.exit, own, label)
    }
    const ownEnd = member.exit ?? own
    assert.strictEqual(member.clean, Member.isCleanStop({ stopSignal: plan === undefined ? undefined : "SIGTERM" }, ownEnd), label)
    if (!member.clean) uncleanCount++
  })

  // The report's totals and verdict match the schedule.
  assert.strictEqual(report.budgetMillis, s.budget)
  // The drain ends when the last member has ended: a group found gone at a later poll adds one interval.
  const withGroups = s.children.some((c) => c.grandchild !== undefined)
  assert.isAtLeast(report.drainMillis, Math.max(0, ...ends))
  assert.isAtMost(report.drainMillis, Math.max(0, ...ends) + (withGroups ? groupPollMillis : 0))
  assert.strictEqual(report.budgetHeld, forcedCount === 0)
  if (forcedCount === 0) {
    assert.isUndefined(report.forcedBy)
  } else if (m.second < m.budgetEnd) {
    assert.strictEqual(report.forcedBy, "second-signal")
  } else if (m.second > m.budgetEnd) {
    assert.strictEqual(report.forcedBy, "budget")
  }
  const verdict: Verdict = outcome._tag === "MemberExited"
    ? "member-exited"
    : forcedCount > 0
    ? "forced"
    : uncleanCount > 0
    ? "drain-failed"
    : "drained"
  assert.strictEqual(report.verdict, verdict)
  assert.isAtMost(report.drainMillis, s.budget + (withGroups ? groupPollMillis : 0), "the drain never outlasts the budget")

  // Every member gets one stop request (and one SIGCONT), at the start of the drain; none for one
  // already gone; nothing is forced before the budget (or the second signal), and only what is
  // reported forced.
  report.members.forEach((member, index) => {
    const isChild = index < s.children.length
    const requests = isChild
      ? events.filter((e) => e.command === member.name && e.kind === "SIGTERM").map((e) => e.at)
      : logs[index - s.children.length].stopRequests
    const kills = isChild
      ? events.filter((e) => e.command.startsWith(member.name) && e.kind === "SIGKILL").map((e) => e.at)
      : logs[index - s.children.length].forces
    const label = `${member.name} (${member.end._tag}): stop requests ${JSON.stringify(requests)}, forces ${JSON.stringify(kills)}`
    const exitsAtDrainStart = isChild && s.children[index].exitAfter === D
    if (isChild && s.children[index].exitAfter !== undefined && s.children[index].exitAfter! <= D) {
      assert.includeDeepMembers([[], [D]], [requests], label)
    } else if (exitsAtDrainStart) {
      assert.includeDeepMembers([[], [D]], [requests], label)
    } else {
      assert.deepStrictEqual(requests, [D], label)
    }
    assert.isTrue(kills.every((at) => at === m.forceAt), label)
    if (member.end._tag !== "Forced") assert.deepStrictEqual(kills, [], label)
  })

  // Nothing outlives the supervision, zombies aside.
  assert.deepStrictEqual(running, [])
  s.children.forEach((_, index) => {
    const exited = events.filter((e) => e.command === childName(index) && e.kind === "exited")
    assert.strictEqual(exited.length, 1, `${childName(index)} exited once`)
    assert.isAtMost(exited[0].at, m.forceAt)
  })
}

// A fixed seed keeps `npm test` deterministic; FC_SEED explores others.
const seed = Number(process.env.FC_SEED ?? 20_261_126)
const numRuns = Number(process.env.FC_RUNS ?? 500)

describe("Supervisor.supervise, properties over random schedules", () => {
  it("one outcome (the earliest event), one stop request each, no force before the budget, totals and verdict match", async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (s) => {
        const result = await Effect.runPromise(runSchedule(s))
        check(s, result)
      }),
      { seed, numRuns, endOnFailure: process.env.FC_END_ON_FAILURE !== undefined }
    )
  })

  // A schedule to replay (JSON, as a counterexample prints it): FC_SCHEDULE='{"children":...}'.
  it.runIf(process.env.FC_SCHEDULE !== undefined)("the schedule in FC_SCHEDULE", async () => {
    const s: Schedule = JSON.parse(process.env.FC_SCHEDULE!)
    check(s, await Effect.runPromise(runSchedule(s)))
  })

  // The tie rules the properties rely on, pinned with explicit schedules.
  it("a member whose drain ends in the very instant of the budget is not forced", async () => {
    const result = await Effect.runPromise(runSchedule(edge))
    check(edge, result)
    assert.deepStrictEqual(result.report.members.map((member) => member.end._tag), ["Stopped", "Forced"])
  })

  it("as PID 1, a grandchild that exited is a zombie nobody reaps, and does not hold the drain", async () => {
    const result = await Effect.runPromise(runSchedule(zombie))
    check(zombie, result)
    assert.deepStrictEqual(result.report.members.map((member) => member.end), [{ _tag: "Stopped", millis: 300 }])
    assert.strictEqual(result.report.verdict, "drained")
  })
})

const plain: ChildPlan = {
  exitAfter: undefined,
  exit: { code: 1 },
  drain: 1000,
  drainEnds: { code: 0 },
  stopped: false,
  grandchild: undefined
}

const edge: Schedule = {
  children: [plain, { ...plain, drain: "ignores" }],
  servers: [],
  firstSignal: { at: 500, signal: "SIGTERM" },
  secondSignalAfter: undefined,
  budget: 1000,
  pid1: false
}

const zombie: Schedule = {
  children: [{ ...plain, drain: 100, grandchild: { drain: 300 } }],
  servers: [],
  firstSignal: { at: 500, signal: "SIGTERM" },
  secondSignalAfter: undefined,
  budget: 1000,
  pid1: true
}

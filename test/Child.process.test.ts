// Real processes: the process is the thing under test here.
import { assert, describe, it } from "@effect/vitest"
import * as Os from "node:os"
import * as Path from "node:path"
import { vi } from "vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Child from "../src/Child.ts"
import * as Member from "../src/Member.ts"
import * as Output from "../src/Output.ts"
import * as ShutdownSignal from "../src/ShutdownSignal.ts"
import * as Supervisor from "../src/Supervisor.ts"
import { fixture, isGone, killQuietly, tempFile, waitForLines } from "./helpers/processes.ts"
import { live } from "./helpers/live.ts"


/** A fixture child that records its pid (and its grandchild's) once ready. */
const fixtureChild = (name: string, env: Record<string, string> = {}) => {
  const pidFile = tempFile(`${name}.pids`)
  return {
    member: Child.make({ name, module: fixture("child.ts"), env: { ...env, PID_FILE: pidFile }, stdio: "ignore" }),
    pids: (count = 1) => Effect.promise(() => waitForLines(pidFile, count)).pipe(Effect.map((lines) => lines.map(Number))),
    cleanup: Effect.promise(() => waitForLines(pidFile, 0)).pipe(Effect.map((lines) => killQuietly(lines.map(Number))))
  }
}

const withCleanup = (children: ReadonlyArray<{ readonly cleanup: Effect.Effect<void> }>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.ensuring(effect, Effect.forEach(children, (child) => child.cleanup))

describe("Child with real processes", () => {
  it.live("a child killed with SIGKILL: the rest drain, the report names it and the signal", () => {
    const victim = fixtureChild("victim")
    const sibling = fixtureChild("sibling", { DRAIN_MS: "100" })
    return Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({ children: [victim.member, sibling.member], budget: "5 seconds" }).pipe(
        Effect.forkChild
      )
      const [victimPid] = yield* victim.pids()
      const [siblingPid] = yield* sibling.pids()
      process.kill(victimPid, "SIGKILL")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.outcome, {
        _tag: "MemberExited",
        name: "victim",
        kind: "child",
        pid: victimPid,
        end: Member.End.Exited({ code: null, signal: "SIGKILL" })
      })
      assert.strictEqual(report.members[0].end._tag, "AlreadyExited")
      assert.strictEqual(report.members[1].end._tag, "Stopped")
      assert.isAtLeast((report.members[1].end as { millis: number }).millis, 100)
      assert.isTrue(isGone(siblingPid))
    }).pipe(withCleanup([victim, sibling]), Effect.provide(live))
  })

  it.live("a child's own child is gone after teardown too, even one that ignores SIGTERM", () => {
    const parent = fixtureChild("parent", { GRANDCHILD: "1" })
    const stubbornParent = fixtureChild("stubborn-parent", { GRANDCHILD: "1", GRANDCHILD_IGNORES_SIGTERM: "1" })
    return Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({ children: [parent.member, stubbornParent.member], budget: "1 second" })
        .pipe(Effect.forkChild)
      const pids = [...yield* parent.pids(2), ...yield* stubbornParent.pids(2)]
      yield* ShutdownSignal.deliver("SIGTERM")
      const report = yield* Fiber.join(fiber)
      // The group is what has to end: its own child ignoring SIGTERM was SIGKILLed at the budget.
      assert.deepStrictEqual(report.members.map((member) => member.end._tag), ["Stopped", "Forced"])
      assert.strictEqual(report.verdict, "forced")
      assert.deepStrictEqual(pids.filter((pid) => !isGone(pid)), [])
    }).pipe(withCleanup([parent, stubbornParent]), Effect.provide(live))
  })

  it.live("a child ignoring SIGTERM is SIGKILLed at the budget and nothing is left", () => {
    const stubborn = fixtureChild("stubborn", { IGNORE_SIGTERM: "1" })
    return Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({ children: [stubborn.member], budget: "1 second" }).pipe(Effect.forkChild)
      const [pid] = yield* stubborn.pids()
      yield* ShutdownSignal.deliver("SIGTERM")
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.members[0].end._tag, "Forced")
      assert.strictEqual(report.forcedBy, "budget")
      assert.isAtLeast(report.drainMillis, 1000)
      assert.isTrue(isGone(pid))
    }).pipe(withCleanup([stubborn]), Effect.provide(live))
  })

  it.live("a missing module, a missing command and a missing working directory are typed spawn errors", () =>
    Effect.gen(function*() {
      const missingModule = yield* Effect.flip(Effect.scoped(Child.make({ name: "ghost", module: "/nonexistent/worker.ts" })))
      assert.strictEqual(missingModule.cause.reason._tag, "NotFound")
      assert.match(missingModule.message, /^Child "ghost" could not start \(node \/nonexistent\/worker\.ts\)/)
      const missingCommand = yield* Effect.flip(Effect.scoped(Child.make({ name: "tool", command: "no-such-command-here" })))
      assert.strictEqual(missingCommand.cause.reason._tag, "NotFound")
      assert.strictEqual(missingCommand.command, "no-such-command-here")
      const badCwd = yield* Effect.flip(Effect.scoped(Child.make({ name: "lost", command: "true", cwd: "/nonexistent/dir" })))
      assert.strictEqual(badCwd.name, "lost")
    }).pipe(Effect.provide(live)))

  it.live("the lifeline: the child finds its end of a socket pair on the fd named in its environment", () => {
    const report = tempFile("lifeline.txt")
    const script = `const fs = require("fs"); const fd = Number(process.env.SUPERVISOR_LIFELINE_FD);` +
      `fs.writeFileSync(${JSON.stringify(report)}, fd + " " + fs.fstatSync(fd).isSocket() + "\\n")`
    return Effect.gen(function*() {
      const child = yield* Child.make({ name: "probe", command: process.execPath, args: ["-e", script], stdio: "ignore" })
      assert.deepStrictEqual(yield* child.exit, Member.End.Exited({ code: 0, signal: null }))
      assert.deepStrictEqual(yield* Effect.promise(() => waitForLines(report, 1)), ["3 true"])
      const without = yield* Child.make({
        name: "no-lifeline",
        command: process.execPath,
        args: ["-e", `process.exit(process.env.SUPERVISOR_LIFELINE_FD === undefined ? 0 : 1)`],
        stdio: "ignore",
        lifeline: false
      })
      assert.deepStrictEqual(yield* without.exit, Member.End.Exited({ code: 0, signal: null }))
    }).pipe(Effect.scoped, Effect.provide(live))
  })

  it.live("prefixed output: every line of stdout and stderr reaches the parent's stream behind the child's name", () => {
    const captured = { stdout: "", stderr: "" }
    const capture = (stream: "stdout" | "stderr", done: () => void) =>
      vi.spyOn(process[stream], "write").mockImplementation(((chunk: string | Uint8Array, callback?: () => void) => {
        captured[stream] += Buffer.from(chunk).toString()
        if (captured.stdout.includes("[talker] two") && captured.stderr.includes("[talker] oops")) done()
        callback?.()
        return true
      }) as typeof process.stdout.write)
    return Effect.gen(function*() {
      const allWritten = Promise.withResolvers<void>()
      const spies = [capture("stdout", allWritten.resolve), capture("stderr", allWritten.resolve)]
      yield* Effect.gen(function*() {
        const child = yield* Child.make({
          name: "talker",
          command: process.execPath,
          args: ["-e", "process.stdout.write('one\\ntwo\\n'); process.stderr.write('oops\\n')"],
          stdio: "prefixed"
        })
        yield* child.exit
        yield* Effect.promise(() => allWritten.promise)
      }).pipe(Effect.scoped, Effect.ensuring(Effect.sync(() => spies.forEach((spy) => spy.mockRestore()))))
      assert.strictEqual(captured.stdout, "[talker] one\n[talker] two\n")
      assert.strictEqual(captured.stderr, "[talker] oops\n")
    }).pipe(Effect.provide(live))
  })

  it.live("a child's last lines are written out by the time its exit is known, even with a descendant holding its pipes", () => {
    // A slow stdout: each write takes 20 ms to complete.
    const written = { stdout: "", stderr: "" }
    const slowOutput = Layer.succeed(Output.Output)(Output.Output.of({
      write: (target, pieces) =>
        Effect.andThen(Effect.sleep("20 millis"), Effect.sync(() => void (written[target] += Buffer.concat(pieces).toString()))),
      flush: Effect.void
    }))
    return Effect.gen(function*() {
      const dying = yield* Child.make({
        name: "dying",
        command: "sh",
        args: ["-c", "echo why it died >&2; exit 3"],
        stdio: "prefixed"
      })
      assert.deepStrictEqual(yield* dying.exit, Member.End.Exited({ code: 3, signal: null }))
      assert.strictEqual(written.stderr, "[dying] why it died\n")
      // The background sleep keeps the pipes open: the exit is known anyway, the line already out.
      const holder = yield* Child.make({
        name: "holder",
        command: "sh",
        args: ["-c", "sleep 30 & echo bye; exit 4"],
        stdio: "prefixed"
      })
      assert.deepStrictEqual(yield* holder.exit, Member.End.Exited({ code: 4, signal: null }))
      assert.strictEqual(written.stdout, "[holder] bye\n")
    }).pipe(Effect.scoped, Effect.provide(slowOutput), Effect.provide(live))
  })

  it.live("a forked module gets the execArgv, args, cwd and env of its spec, on top of the parent's environment", () => {
    const report = tempFile("report.json")
    return Effect.gen(function*() {
      const child = yield* Child.make({
        name: "reporter",
        module: fixture("report.ts"),
        execArgv: ["--no-warnings"],
        args: ["--port", "50061"],
        cwd: Os.tmpdir(),
        env: { REPORT_FILE: report, GREETING: "hello" },
        stdio: "ignore"
      })
      assert.deepStrictEqual(yield* child.exit, Member.End.Exited({ code: 0, signal: null }))
      const [line] = yield* Effect.promise(() => waitForLines(report, 1))
      assert.deepStrictEqual(JSON.parse(line), {
        execArgv: ["--no-warnings"],
        args: ["--port", "50061"],
        cwd: Os.tmpdir(),
        greeting: "hello",
        inheritsParentEnv: true
      })
      // A relative module is found in the child's own working directory, as Node finds it.
      const relative = tempFile("relative.json")
      const fromItsFolder = yield* Child.make({
        name: "relative",
        module: "report.ts",
        cwd: Path.dirname(fixture("report.ts")),
        env: { REPORT_FILE: relative },
        stdio: "ignore"
      })
      assert.deepStrictEqual(yield* fromItsFolder.exit, Member.End.Exited({ code: 0, signal: null }))
      assert.strictEqual(JSON.parse((yield* Effect.promise(() => waitForLines(relative, 1)))[0]).cwd, Path.dirname(fixture("report.ts")))
    }).pipe(Effect.scoped, Effect.provide(live))
  })

  it.live("children started by a supervisor are told its budget, to bound their own drain", () => {
    const report = tempFile("budget.json")
    return Effect.gen(function*() {
      const result = yield* Supervisor.supervise({
        children: [Child.make({ name: "reporter", module: fixture("report.ts"), env: { REPORT_FILE: report }, stdio: "ignore" })],
        budget: "7 seconds"
      })
      assert.deepStrictEqual(result.outcome, {
        _tag: "MemberExited",
        name: "reporter",
        kind: "child",
        pid: result.members[0].pid!,
        end: Member.End.Exited({ code: 0, signal: null })
      })
      assert.strictEqual(JSON.parse((yield* Effect.promise(() => waitForLines(report, 1)))[0]).budget, "7000")
    }).pipe(Effect.provide(live))
  })
})

import { assert, describe, it } from "@effect/vitest"
import * as Member from "../src/Member.ts"
import { format, MemberEnd, Outcome, type ShutdownReport, verdictOf } from "../src/ShutdownReport.ts"

const exited = (code: number | null, signal: string | null = null) => Member.End.Exited({ code, signal })

const report = (overrides: Partial<ShutdownReport>): ShutdownReport => ({
  outcome: Outcome.Signalled({ signal: "SIGTERM" }),
  members: [
    { name: "api-1", kind: "child", pid: 41, end: MemberEnd.Stopped({ millis: 120 }), exit: exited(0), clean: true },
    { name: "worker", kind: "child", pid: 42, end: MemberEnd.AlreadyExited(), exit: exited(0), clean: true },
    { name: "admin", kind: "server", pid: undefined, end: MemberEnd.Forced({ millis: 5000 }), exit: Member.End.Closed(), clean: false }
  ],
  delayMillis: 0, drainMillis: 5003,
  budgetMillis: 5000,
  budgetHeld: false,
  forcedBy: "budget",
  verdict: "forced",
  ...overrides
})

describe("ShutdownReport.format", () => {
  it("names the cause, the verdict and each member's end", () => {
    assert.strictEqual(
      format(report({})),
      [
        "shutdown: received SIGTERM, shutting down; drained in 5003 ms; forced by the 5000 ms budget",
        "  child api-1 (pid 41): stopped in 120 ms, exited with code 0",
        "  child worker (pid 42): had already exited, exited with code 0",
        "  server admin: forced after 5000 ms, closed"
      ].join("\n")
    )
  })

  it("describes each outcome and a drain that held or was cut short by a second signal", () => {
    const firstLine = (overrides: Partial<ShutdownReport>) => format(report(overrides)).split("\n")[0]
    assert.strictEqual(
      firstLine({ outcome: Outcome.MemberExited({ name: "api-2", kind: "child", pid: 7, end: exited(null, "SIGKILL") }), budgetHeld: true, delayMillis: 0, drainMillis: 40 }),
      "shutdown: child api-2 (pid 7) exited on its own by signal SIGKILL; drained in 40 ms, within the 5000 ms budget"
    )
    assert.strictEqual(
      firstLine({ outcome: Outcome.MemberExited({ name: "api-2", kind: "child", pid: 7, end: exited(3) }), forcedBy: "second-signal" }),
      "shutdown: child api-2 (pid 7) exited on its own with code 3; drained in 5003 ms; forced by a second signal"
    )
    assert.strictEqual(
      firstLine({ outcome: Outcome.Interrupted(), budgetHeld: true }),
      "shutdown: interrupted, shutting down; drained in 5003 ms, within the 5000 ms budget"
    )
    assert.strictEqual(
      firstLine({ outcome: Outcome.StartFailed({ error: "GrpcBindError: boom" }), budgetHeld: true }),
      "shutdown: start failed: GrpcBindError: boom; drained in 5003 ms, within the 5000 ms budget"
    )
  })
})

describe("ShutdownReport: verdicts", () => {
  const members = (clean: boolean): ShutdownReport["members"] => [
    { name: "api", kind: "child", pid: 1, end: MemberEnd.Stopped({ millis: 5 }), exit: exited(clean ? 0 : 3), clean }
  ]
  const held = { delayMillis: 0, drainMillis: 5, budgetMillis: 5000, budgetHeld: true, forcedBy: undefined }

  it("judges the outcome first, then force, then how the members stopped", () => {
    const signalled = Outcome.Signalled({ signal: "SIGTERM" })
    assert.strictEqual(verdictOf({ ...held, outcome: signalled, members: members(true) }), "drained")
    assert.strictEqual(verdictOf({ ...held, outcome: signalled, members: members(false) }), "drain-failed")
    assert.strictEqual(verdictOf({ ...held, outcome: signalled, members: members(true), budgetHeld: false }), "forced")
    assert.strictEqual(verdictOf({ ...held, outcome: Outcome.StartFailed({ error: "x" }), members: [] }), "start-failed")
    const crashed = Outcome.MemberExited({ name: "api", kind: "child", pid: 1, end: exited(3) })
    assert.strictEqual(verdictOf({ ...held, outcome: crashed, members: members(false), budgetHeld: false }), "member-exited")
  })

  it("a member that did not stop cleanly is marked in the report, and counted in its first line", () => {
    const text = format({ ...held, outcome: Outcome.Signalled({ signal: "SIGTERM" }), members: members(false), verdict: "drain-failed" })
    assert.strictEqual(
      text,
      [
        "shutdown: received SIGTERM, shutting down; drained in 5 ms, within the 5000 ms budget, but 1 member did not stop cleanly",
        "  child api (pid 1): stopped in 5 ms, exited with code 3 (not a clean stop)"
      ].join("\n")
    )
  })

  it("a member that never ended is reported as still running; a server's own end in words", () => {
    const text = format({
      ...held,
      budgetHeld: false,
      forcedBy: "budget",
      outcome: Outcome.MemberExited({ name: "db", kind: "server", pid: undefined, end: Member.End.Failed({ reason: "disk full" }) }),
      members: [{ name: "stuck", kind: "child", pid: 9, end: MemberEnd.Forced({ millis: 5000 }), exit: undefined, clean: false }],
      verdict: "member-exited"
    })
    assert.strictEqual(
      text,
      [
        "shutdown: server db ended on its own (failed: disk full); drained in 5 ms; forced by the 5000 ms budget",
        "  child stuck (pid 9): forced after 5000 ms, still running"
      ].join("\n")
    )
  })
})

import { assert, describe, it } from "@effect/vitest"
import { MemberEnd, Outcome, format, type ShutdownReport } from "../src/ShutdownReport.ts"

const report = (overrides: Partial<ShutdownReport>): ShutdownReport => ({
  outcome: Outcome.Signalled({ signal: "SIGTERM" }),
  members: [
    { name: "api-1", kind: "child", pid: 41, end: MemberEnd.Stopped({ millis: 120 }) },
    { name: "worker", kind: "child", pid: 42, end: MemberEnd.AlreadyExited() },
    { name: "admin", kind: "server", pid: undefined, end: MemberEnd.Forced({ millis: 5000 }) }
  ],
  drainMillis: 5003,
  budgetMillis: 5000,
  budgetHeld: false,
  forcedBy: "budget",
  ...overrides
})

describe("ShutdownReport.format", () => {
  it("names the cause, the verdict and each member's end", () => {
    assert.strictEqual(
      format(report({})),
      [
        "shutdown: received SIGTERM, shutting down; drained in 5003 ms; forced by the 5000 ms budget",
        "  child api-1 (pid 41): stopped in 120 ms",
        "  child worker (pid 42): had already exited",
        "  server admin: forced after 5000 ms"
      ].join("\n")
    )
  })

  it("describes each outcome and a drain that held or was cut short by a second signal", () => {
    const firstLine = (overrides: Partial<ShutdownReport>) => format(report(overrides)).split("\n")[0]
    assert.strictEqual(
      firstLine({ outcome: Outcome.ChildExited({ name: "api-2", pid: 7, code: null, signal: "SIGKILL" }), budgetHeld: true, drainMillis: 40 }),
      "shutdown: child api-2 (pid 7) exited on its own by signal SIGKILL; drained in 40 ms, within the 5000 ms budget"
    )
    assert.strictEqual(
      firstLine({ outcome: Outcome.ChildExited({ name: "api-2", pid: 7, code: 3, signal: null }), forcedBy: "second-signal" }),
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

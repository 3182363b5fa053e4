// A real parent under NodeRuntime.runMain, signalled as Kubernetes would.
import { assert, describe, it } from "vitest"
import { startParent } from "./helpers/parentProcess.ts"
import { isGone } from "./helpers/processes.ts"

const children = (...specs: Array<{ name: string; env?: Record<string, string> }>) => JSON.stringify(specs)

const readyPids = async (parent: ReturnType<typeof startParent>, count: number) =>
  (await parent.waitFor(/^\[(\S+)\] ready (\d+)$/, count)).map((match) => ({ name: match[1], pid: Number(match[2]) }))

describe("a supervising process under NodeRuntime.runMain", () => {
  it("SIGTERM: children drain, the parent exits 0", async () => {
    const parent = startParent({
      GRACEFUL_SHUTDOWN_TIMEOUT: "5",
      CHILDREN: children({ name: "api", env: { DRAIN_MS: "200" } }, { name: "worker" })
    })
    try {
      const pids = await readyPids(parent, 2)
      process.kill(parent.pid, "SIGTERM")
      assert.deepStrictEqual(await parent.exited, { code: 0, signal: null })
      assert.isTrue(pids.every(({ pid }) => isGone(pid)))
      const output = parent.output().join("\n")
      assert.include(output, "received SIGTERM, shutting down")
      assert.match(output, /child api \(pid \d+\): stopped in \d+ ms/)
    } finally {
      parent.cleanup()
    }
  })

  it("a child killed: the parent tears down, names it and the signal, and exits 1", async () => {
    const parent = startParent({
      GRACEFUL_SHUTDOWN_TIMEOUT: "5",
      CHILDREN: children({ name: "api" }, { name: "worker" })
    })
    try {
      const pids = await readyPids(parent, 2)
      const api = pids.find(({ name }) => name === "api")!
      process.kill(api.pid, "SIGKILL")
      assert.deepStrictEqual(await parent.exited, { code: 1, signal: null })
      assert.isTrue(pids.every(({ pid }) => isGone(pid)))
      const output = parent.output().join("\n")
      assert.include(output, `child api (pid ${api.pid}) exited on its own by signal SIGKILL`)
      assert.notInclude(output, "ChildExitedError", "reported once, by the supervisor, not again with a stack trace")
    } finally {
      parent.cleanup()
    }
  })

  it("a drain that overruns the budget: stragglers SIGKILLed, exit 124", async () => {
    const parent = startParent({
      GRACEFUL_SHUTDOWN_TIMEOUT: "0.5",
      CHILDREN: children({ name: "stubborn", env: { IGNORE_SIGTERM: "1" } })
    })
    try {
      const [stubborn] = await readyPids(parent, 1)
      process.kill(parent.pid, "SIGTERM")
      assert.deepStrictEqual(await parent.exited, { code: 124, signal: null })
      assert.isTrue(isGone(stubborn.pid))
      const output = parent.output().join("\n")
      assert.include(output, `child stubborn (pid ${stubborn.pid}): forced after`)
      assert.notInclude(output, "BudgetExceededError")
    } finally {
      parent.cleanup()
    }
  })

  it("a bad budget: one clear error naming the variable, exit 1, nothing started", async () => {
    const parent = startParent({ GRACEFUL_SHUTDOWN_TIMEOUT: "abc", CHILDREN: children({ name: "api" }) })
    try {
      assert.deepStrictEqual(await parent.exited, { code: 1, signal: null })
      const output = parent.output().join("\n")
      assert.include(output, "GRACEFUL_SHUTDOWN_TIMEOUT")
      assert.notInclude(output, "ready")
    } finally {
      parent.cleanup()
    }
  })
})

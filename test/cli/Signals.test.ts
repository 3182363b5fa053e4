// Stop signals from the command line: names in any form, numbers, and the two that cannot stop gracefully.
import { assert, describe, it } from "vitest"
import * as Result from "effect/Result"
import { constants } from "node:os"
import * as Signals from "../../src/cli/Signals.ts"

const signal = (input: string) => Result.getOrThrow(Signals.parseSignal(input))
const failureOf = <A, E>(result: Result.Result<A, E>): E => {
  assert.isTrue(Result.isFailure(result))
  return Result.isFailure(result) ? result.failure : undefined!
}
const unknown = (input: string) =>
  `Unknown signal ${JSON.stringify(input)}: give a name such as SIGTERM, SIGINT, SIGQUIT, SIGHUP or SIGUSR1 (with or without "SIG", in any case), or its number`
const killMessage =
  "SIGKILL cannot be a stop signal: a process cannot handle it, so it gets no chance to stop gracefully (SIGKILL is what the supervisor sends when the grace period runs out)"
const stopMessage = "SIGSTOP cannot be a stop signal: a process cannot handle it, and it pauses the process instead of stopping it"

describe("Signals.parseSignal", () => {
  it("reads a name with or without SIG, in any case, or a number, as the canonical name", () => {
    for (const input of ["SIGQUIT", "QUIT", "quit", "sigquit", "SigQuit", " 3 ", String(constants.signals.SIGQUIT)]) {
      assert.strictEqual(signal(input), "SIGQUIT", input)
    }
    assert.strictEqual(signal("term"), "SIGTERM")
    assert.strictEqual(signal("usr2"), "SIGUSR2")
  })

  it("a number shared by two names gives the first Node lists", () => {
    const names = Object.keys(constants.signals) as Array<keyof typeof constants.signals>
    const shared = names.find((name, i) => names.findIndex((other) => constants.signals[other] === constants.signals[name]) !== i)!
    const first = names.find((name) => constants.signals[name] === constants.signals[shared])!
    assert.notStrictEqual(first, shared)
    assert.strictEqual(signal(String(constants.signals[shared])), first)
    assert.strictEqual(signal(shared), shared)
  })

  it("SIGKILL and SIGSTOP are refused, in any form, saying why", () => {
    for (const input of ["SIGKILL", "kill", String(constants.signals.SIGKILL)]) {
      const error = failureOf(Signals.parseSignal(input))
      assert.strictEqual(error.reason, "Uncatchable")
      assert.strictEqual(error.signal, "SIGKILL")
      assert.strictEqual(error.message, killMessage)
    }
    for (const input of ["SIGSTOP", "Stop", String(constants.signals.SIGSTOP)]) {
      assert.strictEqual(failureOf(Signals.parseSignal(input)).message, stopMessage)
    }
  })

  it("anything else is an error listing valid examples", () => {
    for (const input of ["FOO", "SIG", "", "0", "999", "-15", "SIGSIGTERM", "toString", "__proto__", "1.5"]) {
      const error = failureOf(Signals.parseSignal(input))
      assert.strictEqual(error._tag, "InvalidSignalError")
      assert.strictEqual(error.reason, "Unknown")
      assert.strictEqual(error.message, unknown(input), input)
    }
  })
})

describe("Signals.parseStopSignals", () => {
  const parsed = (inputs: ReadonlyArray<string>, names?: ReadonlyArray<string>) =>
    Result.getOrThrow(Signals.parseStopSignals(inputs, names))
  const error = (inputs: ReadonlyArray<string>, names?: ReadonlyArray<string>) =>
    failureOf(Signals.parseStopSignals(inputs, names)).message

  it("an entry without a name sets the default, name=SIGNAL one command's; the later wins", () => {
    assert.deepStrictEqual(parsed([]), { byName: {} })
    assert.deepStrictEqual(parsed(["SIGQUIT", "worker=int", " clock = 1 "]), {
      default: "SIGQUIT",
      byName: { worker: "SIGINT", clock: "SIGHUP" }
    })
    assert.deepStrictEqual(parsed(["quit", "worker=INT", "term", "worker=usr1"], ["api", "worker"]), {
      default: "SIGTERM",
      byName: { worker: "SIGUSR1" }
    })
    assert.deepStrictEqual(parsed(["__proto__=INT"]).byName["__proto__"], "SIGINT")
    assert.isFalse("default" in parsed(["a=INT"]))
  })

  it("an instance name is a name when the known names include it", () => {
    assert.deepStrictEqual(
      Result.getOrThrow(Signals.parseStopSignals(["api.2=QUIT"], ["api", "api.1", "api.2"])),
      { byName: { "api.2": "SIGQUIT" } }
    )
  })

  it("a bad signal is the signal's error", () => {
    assert.strictEqual(error(["worker=FOO"]), unknown("FOO"))
    assert.strictEqual(error(["KILL"]), killMessage)
    assert.strictEqual(failureOf(Signals.parseStopSignals(["worker="]))._tag, "InvalidSignalError")
  })

  it("an empty, bad or unknown name is an error quoting the entry", () => {
    assert.strictEqual(error(["=INT"]), `Invalid stop signal "=INT": the name before "=" is empty`)
    assert.strictEqual(error(["api.1=INT"]), `Invalid stop signal "api.1=INT": bad name "api.1": a name may contain only letters, digits, "_" and "-"`)
    assert.strictEqual(
      error(["wroker=INT"], ["api", "worker"]),
      `Invalid stop signal "wroker=INT": no process is named wroker (there are api, worker)`
    )
    assert.strictEqual(
      error(["api.3=INT"], ["api", "api.1", "api.2"]),
      `Invalid stop signal "api.3=INT": no process is named api.3 (there are api, api.1, api.2)`
    )
    assert.strictEqual(failureOf(Signals.parseStopSignals(["=INT"]))._tag, "StopSignalError")
  })
})

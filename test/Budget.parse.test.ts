// The budget as configuration states it: which strings are accepted, as how many
// milliseconds, and what a rejected one tells the operator.
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Budget from "../src/Budget.ts"

const millis = (input: string) => {
  const duration = Budget.parse(input)
  return duration === undefined ? undefined : Duration.toMillis(duration)
}

describe("Budget.parse", () => {
  it("accepts decimal seconds, or a number with s or ms, surrounding spaces allowed", () => {
    const accepted: Array<[string, number]> = [
      ["10", 10_000],
      ["2.5", 2_500],
      [".5", 500],
      ["0.001", 1],
      ["500ms", 500],
      ["1ms", 1],
      ["10s", 10_000],
      ["2.5s", 2_500],
      [" 3 ", 3_000],
      ["\t30 s\n", 30_000],
      ["250 ms", 250],
      ["2147483647ms", 2_147_483_647],
      ["2147483s", 2_147_483_000]
    ]
    for (const [input, expected] of accepted) assert.strictEqual(millis(input), expected, JSON.stringify(input))
  })

  it("rejects zero, under 1 ms, hex, exponents, signs, commas, other units, Infinity, empty, above 2^31-1 ms", () => {
    const rejected = [
      "0",
      "0s",
      "0ms",
      "0.0001",
      "0.5ms",
      "0x10",
      "1e3",
      "-1",
      "+1",
      "1,5",
      "10m",
      "10 min",
      "1h",
      "Infinity",
      "NaN",
      "",
      "   ",
      "s",
      "1.",
      "1..5",
      "10 s s",
      "2147483648ms",
      "2147484",
      "99999999999"
    ]
    for (const input of rejected) assert.isUndefined(Budget.parse(input), JSON.stringify(input))
  })
})

describe("Budget.config", () => {
  const read = (name: string | undefined, env: Record<string, string>) =>
    Budget.config(name).parse(ConfigProvider.fromEnv({ env }))

  it.effect("reads the accepted forms, from the default or a named variable", () =>
    Effect.gen(function*() {
      assert.strictEqual(Duration.toMillis(yield* read(undefined, { GRACEFUL_SHUTDOWN_TIMEOUT: "500ms" })), 500)
      assert.strictEqual(Duration.toMillis(yield* read(undefined, { GRACEFUL_SHUTDOWN_TIMEOUT: " 2.5 " })), 2_500)
      assert.strictEqual(Duration.toMillis(yield* read("DRAIN_BUDGET", { DRAIN_BUDGET: "10s" })), 10_000)
    }))

  it.effect("a rejected value is a ConfigError naming the variable, the value and what is accepted", () =>
    Effect.gen(function*() {
      for (const value of ["1e3", "10m", "0x10", "0.0001", "2147483648ms"]) {
        const error = yield* Effect.flip(read("DRAIN_BUDGET", { DRAIN_BUDGET: value }))
        assert.strictEqual(error._tag, "ConfigError", value)
        assert.include(error.message, "DRAIN_BUDGET", value)
        assert.include(error.message, JSON.stringify(value), value)
        assert.include(error.message, "positive number of seconds (such as 10 or 2.5)", value)
        assert.include(error.message, `milliseconds with "ms" (such as 500ms)`, value)
        assert.include(error.message, "from 1 ms to 24 days", value)
      }
    }))

  it.effect("a missing variable is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(read(undefined, {}))
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(error.message, "GRACEFUL_SHUTDOWN_TIMEOUT")
    }))
})

describe("Budget.make", () => {
  it.effect("accepts up to the longest timer (2^31-1 ms) and rejects anything longer", () =>
    Effect.gen(function*() {
      assert.strictEqual(Duration.toMillis(yield* Budget.make(2_147_483_647)), 2_147_483_647)
      assert.strictEqual(Duration.toMillis(yield* Budget.make("24 days")), 24 * 86_400_000)
      for (const input of [2_147_483_648, "25 days", Duration.weeks(52)] as const) {
        const error = yield* Effect.flip(Budget.make(input))
        assert.strictEqual(error._tag, "InvalidBudgetError")
        assert.strictEqual(error.input, String(input))
        assert.strictEqual(
          error.message,
          `The graceful-shutdown budget must be a positive, finite duration of at most 24 days; got ${String(input)}`
        )
      }
    }))
})

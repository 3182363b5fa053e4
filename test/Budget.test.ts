import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Budget from "../src/Budget.ts"

const fromEnv = (value: string) =>
  Budget.config().parse(ConfigProvider.fromEnv({ env: { GRACEFUL_SHUTDOWN_TIMEOUT: value } }))

describe("Budget", () => {
  it.effect("accepts a positive finite duration from code", () =>
    Effect.gen(function*() {
      assert.strictEqual(Duration.toMillis(yield* Budget.make("25 seconds")), 25_000)
      assert.strictEqual(Duration.toMillis(yield* Budget.make(1500)), 1500)
    }))

  it.effect("rejects zero, negative, NaN, infinite and unparsable budgets from code", () =>
    Effect.gen(function*() {
      for (const input of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, "soon"] as const) {
        const error = yield* Effect.flip(Budget.make(input as Duration.Input))
        assert.strictEqual(error._tag, "InvalidBudgetError")
        assert.match(error.message, /must be a positive, finite duration of at most 24 days; got/)
      }
    }))

  it.effect("reads GRACEFUL_SHUTDOWN_TIMEOUT in seconds", () =>
    Effect.gen(function*() {
      assert.strictEqual(Duration.toMillis(yield* fromEnv("25")), 25_000)
      assert.strictEqual(Duration.toMillis(yield* fromEnv("0.5")), 500)
    }))

  it.effect("a zero, negative, NaN or unparsable GRACEFUL_SHUTDOWN_TIMEOUT is a ConfigError naming the variable", () =>
    Effect.gen(function*() {
      for (const value of ["0", "-1", "NaN", "abc", ""]) {
        const error = yield* Effect.flip(fromEnv(value))
        assert.strictEqual(error._tag, "ConfigError", value)
        assert.include(error.message, "GRACEFUL_SHUTDOWN_TIMEOUT", value)
      }
    }))
})

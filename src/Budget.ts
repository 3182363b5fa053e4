/**
 * The graceful-shutdown budget: how long every member together may take to
 * stop before the stragglers are forced. Keep it below the container's stop
 * grace period (Kubernetes' `terminationGracePeriodSeconds`).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"

/**
 * The budget is zero, negative, infinite or not a duration.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidBudgetError extends Data.TaggedError("InvalidBudgetError")<{
  readonly input: string
}> {
  override get message(): string {
    return `The graceful-shutdown budget must be a positive, finite duration of at most 24 days; got ${this.input}`
  }
}

// Timers cannot wait longer (about 24.8 days).
const maxMillis = 2_147_483_647

const isUsable = (duration: Duration.Duration): boolean =>
  Duration.isFinite(duration) && Duration.toMillis(duration) > 0 && Duration.toMillis(duration) <= maxMillis

/**
 * Validates a budget given in code.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: Duration.Input): Effect.Effect<Duration.Duration, InvalidBudgetError> =>
  Option.match(Option.filter(Duration.fromInput(input), isUsable), {
    onNone: () => Effect.fail(new InvalidBudgetError({ input: String(input) })),
    onSome: Effect.succeed
  })

/**
 * The drain delay is negative, infinite, not a duration, or not shorter than
 * the budget it comes out of.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidDrainDelayError extends Data.TaggedError("InvalidDrainDelayError")<{
  readonly input: string
  readonly budgetMillis: number
}> {
  override get message(): string {
    return `The drain delay must be a finite duration, zero or more and shorter than the ${this.budgetMillis} ms budget it comes out of; got ${this.input}`
  }
}

/**
 * Validates a drain delay against the budget it comes out of.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeDrainDelay = (
  input: Duration.Input,
  budget: Duration.Duration
): Effect.Effect<Duration.Duration, InvalidDrainDelayError> =>
  Option.match(
    Option.filter(Duration.fromInput(input), (delay) => Duration.isFinite(delay) && Duration.isLessThan(delay, budget) && Duration.toMillis(delay) >= 0),
    {
      onNone: () => Effect.fail(new InvalidDrainDelayError({ input: String(input), budgetMillis: Duration.toMillis(budget) })),
      onSome: Effect.succeed
    }
  )

/**
 * The environment variable the seed service read its budget from.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultVariable = "GRACEFUL_SHUTDOWN_TIMEOUT"

// Decimal seconds, or a number with "s" or "ms": no hex, no exponent, no sign.
const budgetPattern = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s)?\s*$/

/**
 * Parses a budget as configuration states it: decimal seconds (`10`, `2.5`),
 * or with a unit (`500ms`, `10s`). It must be at least 1 ms and at most
 * about 24 days; anything else (hex, exponents, signs) is `undefined`.
 *
 * @since 0.2.0
 * @category parsing
 */
export const parse = (input: string): Duration.Duration | undefined => parseAtLeast(input, 1)

/**
 * {@link parse} for a delay, which may be zero.
 *
 * @since 0.2.0
 * @category parsing
 */
export const parseDelay = (input: string): Duration.Duration | undefined => parseAtLeast(input, 0)

const parseAtLeast = (input: string, minMillis: number): Duration.Duration | undefined => {
  const match = budgetPattern.exec(input)
  if (match === null) return undefined
  const millis = Number(match[1]) * (match[2] === "ms" ? 1 : 1000)
  return millis >= minMillis && millis <= maxMillis ? Duration.millis(millis) : undefined
}

const durationFromString = (minMillis: number) =>
  Schema.String.check(
    Schema.makeFilter((input: string) =>
      parseAtLeast(input, minMillis) !== undefined ||
      `must be a ${minMillis > 0 ? "positive " : ""}number of seconds (such as 10 or 2.5) or of milliseconds with "ms" (such as 500ms), from ${
        minMillis > 0 ? `${minMillis} ms` : "0"
      } to 24 days; got ${JSON.stringify(input)}`
    )
  ).pipe(Schema.decodeTo(
    Schema.Duration,
    SchemaTransformation.transform({
      decode: (input: string) => parseAtLeast(input, minMillis)!,
      encode: (duration: Duration.Duration) => `${Duration.toMillis(duration)}ms`
    })
  ))

/**
 * The budget from configuration (by default `GRACEFUL_SHUTDOWN_TIMEOUT`), in
 * the forms {@link parse} accepts; anything else is a `ConfigError` naming
 * the variable.
 *
 * @since 0.1.0
 * @category config
 */
export const config = (name: string = defaultVariable): Config.Config<Duration.Duration> =>
  Config.schema(durationFromString(1), name)

/**
 * A drain delay from configuration (by default `DRAIN_DELAY`), in the forms
 * {@link parse} accepts, zero included; whether it is shorter than the budget
 * is checked by the supervisor.
 *
 * @since 0.2.0
 * @category config
 */
export const drainDelayConfig = (name: string = "DRAIN_DELAY"): Config.Config<Duration.Duration> =>
  Config.schema(durationFromString(0), name)

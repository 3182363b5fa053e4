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
    return `The graceful-shutdown budget must be a positive, finite duration; got ${this.input}`
  }
}

const isUsable = (duration: Duration.Duration): boolean =>
  Duration.isFinite(duration) && Duration.toMillis(duration) > 0

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
 * The environment variable the seed service read its budget from.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultVariable = "GRACEFUL_SHUTDOWN_TIMEOUT"

/**
 * The budget in seconds from configuration (by default
 * `GRACEFUL_SHUTDOWN_TIMEOUT`); zero, negative, NaN or unparsable values are
 * a `ConfigError` naming the variable.
 *
 * @since 0.1.0
 * @category config
 */
export const config = (name: string = defaultVariable): Config.Config<Duration.Duration> =>
  Config.schema(Schema.Finite.check(Schema.isGreaterThan(0)), name).pipe(Config.map(Duration.seconds))

// The example's configuration, read from the environment with Effect Config.
// Every bad variable is reported, one line each naming it, before anything
// starts; then the checks across variables, the same way.
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as Net from "node:net"
import * as Path from "node:path"
import { Budget } from "../../src/index.ts"

export interface ServiceConfig {
  readonly apiHost: string
  readonly apiPort: number
  readonly apiWorkers: number
  readonly jobWorkers: number
  readonly adminPort: number
  readonly healthHost: string
  readonly metricsPort: number
  readonly dataDir: string
  readonly dbPath: string
  readonly budget: Duration.Duration
  readonly drainDelay: Duration.Duration
  readonly workMs: number
  readonly scheduleEveryMs: number
  readonly leaseMs: number
}

/** What is wrong with the configuration: one line per problem, each naming its variable. */
export class ConfigError extends Data.TaggedError("ConfigError")<{ readonly problems: ReadonlyArray<string> }> {
  // The program prints these lines itself, and nothing more: runMain need not report it again.
  override readonly [Runtime.errorReported] = false
  override get message(): string {
    return this.problems.map((problem) => `config error: ${problem}`).join("\n")
  }
}

type Env = Record<string, string | undefined>

// Port 0 picks a free port (the tests use it), so not Config.Port, which starts at 1.
const integer = (min: number, max: number) => (name: string) =>
  Config.schema(Schema.Int.check(Schema.isBetween({ minimum: min, maximum: max })), name)
const ipAddress = (name: string) => Config.schema(Schema.String.check(Schema.makeFilter((host) => Net.isIP(host) !== 0)), name)

/** The names of the variables the service reads. */
export const names: Array<string> = []

/** A variable, with its default when unset or empty; a bad value is one line naming it and saying what it must be. */
const variable = <A>(name: string, config: (name: string) => Config.Config<A>, fallback: A, expected: string) => {
  names.push(name)
  return Effect.catch(Config.withDefault(config(name), fallback), () =>
    Config.String(name).pipe(
      Effect.orElseSucceed(() => ""),
      Effect.flatMap((raw) => Effect.fail(`${name} must be ${expected}; got ${JSON.stringify(raw)}`))
    ))
}

const port = "a port (0-65535; 0 picks a free one)"
const count = "a whole number from 1 to 32"
const millis = "a number of milliseconds"
const variables = {
  apiHost: variable("API_HOST", ipAddress, "127.0.0.1", "an IP address (0.0.0.0 in a pod)"),
  apiPort: variable("API_PORT", integer(0, 65535), 50061, port),
  apiWorkers: variable("API_WORKERS", integer(1, 32), 2, count),
  jobWorkers: variable("JOB_WORKERS", integer(1, 32), 1, count),
  adminPort: variable("ADMIN_PORT", integer(0, 65535), 50060, port),
  healthHost: variable("HEALTH_HOST", ipAddress, "127.0.0.1", "an IP address (0.0.0.0 in a pod)"),
  metricsPort: variable("METRICS_PORT", integer(0, 65535), 9464, port),
  dataDir: variable("DATA_DIR", Config.String, ".data", "a folder"),
  budget: variable(
    "GRACEFUL_SHUTDOWN_TIMEOUT",
    Budget.config,
    Duration.seconds(10),
    "a positive number of seconds (such as 10 or 2.5) or of milliseconds (such as 500ms)"
  ),
  drainDelay: variable(
    "DRAIN_DELAY",
    Budget.drainDelayConfig,
    Duration.zero,
    "a number of seconds (such as 5 or 2.5; 0 for none) or of milliseconds (such as 500ms)"
  ),
  workMs: variable("WORK_MS", integer(0, 3_600_000), 300, millis),
  scheduleEveryMs: variable("SCHEDULE_EVERY_MS", integer(100, 86_400_000), 5_000, `${millis} (at least 100)`),
  leaseMs: variable("LEASE_MS", integer(100, 86_400_000), 30_000, `${millis} (at least 100)`)
}

/**
 * Runs every check to its end: fails with every problem found (a check fails
 * with one line, or with a ConfigError of its own), or succeeds with every
 * value (Config.all, and Effect.all by default, stop at the first failure).
 */
export const checkAll = <const Checks extends Record<string, Effect.Effect<any, string | ConfigError, any>>>(
  checks: Checks
): Effect.Effect<{ -readonly [K in keyof Checks]: Effect.Success<Checks[K]> }, ConfigError, Effect.Services<Checks[keyof Checks]>> =>
  Effect.flatMap(Effect.all(checks as Record<string, Effect.Effect<any, string | ConfigError, any>>, { mode: "result" }), (results) => {
    const problems = Object.values(results).flatMap((result) =>
      Result.isSuccess(result) ? [] : typeof result.failure === "string" ? [result.failure] : result.failure.problems
    )
    return problems.length > 0
      ? Effect.fail(new ConfigError({ problems }))
      : Effect.succeed(Object.fromEntries(Object.entries(results).map(([key, result]) => [key, Result.getOrThrow(result)])) as any)
  })

/** The checks across variables, once each one is valid. */
const crossCheck = (config: ServiceConfig): Array<string> => {
  const problems: Array<string> = []
  if (config.apiPort + config.apiWorkers - 1 > 65535) {
    problems.push(`API_PORT ${config.apiPort} leaves no room for ${config.apiWorkers} consecutive ports (API_WORKERS)`)
  }
  const used = [...apiPorts(config), config.adminPort, config.metricsPort].filter((value) => value !== 0)
  if (new Set(used).size !== used.length) {
    problems.push(
      `ADMIN_PORT ${config.adminPort} and METRICS_PORT ${config.metricsPort} must differ from each other and from the API ports (${
        apiPorts(config).join(", ")
      }, from API_PORT and API_WORKERS)`
    )
  }
  // The delay comes out of the budget; the supervisor would refuse it too, less clearly.
  if (Duration.isGreaterThanOrEqualTo(config.drainDelay, config.budget)) {
    problems.push(
      `DRAIN_DELAY (${Duration.format(config.drainDelay)}) must be shorter than GRACEFUL_SHUTDOWN_TIMEOUT (${
        Duration.format(config.budget)
      }), the budget it comes out of`
    )
  }
  return problems
}

/** The configuration from `env`: every bad variable, or every failed cross-check, in one ConfigError. */
export const load = (env: Env = process.env): Effect.Effect<ServiceConfig, ConfigError> =>
  Effect.gen(function*() {
    const values = yield* checkAll(variables)
    const dataDir = Path.resolve(values.dataDir)
    const config: ServiceConfig = { ...values, dataDir, dbPath: Path.join(dataDir, "jobs.sqlite") }
    const problems = crossCheck(config)
    if (problems.length > 0) return yield* new ConfigError({ problems })
    return config
  }).pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(env)))

/** The API workers' ports: consecutive from API_PORT, or all 0 (each picks a free one). */
export const apiPorts = (config: Pick<ServiceConfig, "apiPort" | "apiWorkers">): Array<number> =>
  Array.from({ length: config.apiWorkers }, (_, index) => config.apiPort === 0 ? 0 : config.apiPort + index)

/** `host:port`, with brackets around an IPv6 host. */
export const address = (host: string, port: number): string => Net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`

// The example's configuration, from the environment with defaults. A bad
// value is one line naming the variable, before anything starts.
import * as Path from "node:path"

export interface Config {
  readonly apiPort: number
  readonly apiWorkers: number
  readonly jobWorkers: number
  readonly adminPort: number
  readonly metricsPort: number
  readonly dataDir: string
  readonly dbPath: string
  readonly budgetSeconds: number
  readonly workMs: number
  readonly scheduleEveryMs: number
  readonly leaseMs: number
}

export class ConfigError extends Error {
  override readonly name = "ConfigError"
}

type Env = Record<string, string | undefined>

const integer = (env: Env, name: string, fallback: number, min: number, max: number, what: string): number => {
  const raw = env[name]
  if (raw === undefined || raw === "") return fallback
  const value = Number(raw)
  if (!/^\s*\d+\s*$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be ${what}; got ${JSON.stringify(raw)}`)
  }
  return value
}

export const fromEnv = (env: Env = process.env): Config => {
  const budgetRaw = env.GRACEFUL_SHUTDOWN_TIMEOUT ?? "10"
  const budgetSeconds = Number(budgetRaw)
  if (budgetRaw.trim() === "" || !Number.isFinite(budgetSeconds) || budgetSeconds <= 0) {
    throw new ConfigError(
      `GRACEFUL_SHUTDOWN_TIMEOUT must be a positive number of seconds; got ${JSON.stringify(budgetRaw)}`
    )
  }
  const dataDir = Path.resolve(env.DATA_DIR || ".data")
  const port = (name: string, fallback: number) => integer(env, name, fallback, 0, 65535, "a port (0-65535; 0 picks a free one)")
  const config: Config = {
    apiPort: port("API_PORT", 50061),
    apiWorkers: integer(env, "API_WORKERS", 2, 1, 32, "a whole number from 1 to 32"),
    jobWorkers: integer(env, "JOB_WORKERS", 1, 1, 32, "a whole number from 1 to 32"),
    adminPort: port("ADMIN_PORT", 50060),
    metricsPort: port("METRICS_PORT", 9464),
    dataDir,
    dbPath: Path.join(dataDir, "jobs.sqlite"),
    budgetSeconds,
    workMs: integer(env, "WORK_MS", 300, 0, 3_600_000, "a number of milliseconds"),
    scheduleEveryMs: integer(env, "SCHEDULE_EVERY_MS", 5_000, 100, 86_400_000, "a number of milliseconds (at least 100)"),
    leaseMs: integer(env, "LEASE_MS", 30_000, 100, 86_400_000, "a number of milliseconds (at least 100)")
  }
  if (config.apiPort + config.apiWorkers - 1 > 65535) {
    throw new ConfigError(`API_PORT ${config.apiPort} leaves no room for ${config.apiWorkers} consecutive ports (API_WORKERS)`)
  }
  const used = [...apiPorts(config), config.adminPort, config.metricsPort].filter((value) => value !== 0)
  if (new Set(used).size !== used.length) {
    throw new ConfigError(
      `ADMIN_PORT ${config.adminPort} and METRICS_PORT ${config.metricsPort} must differ from each other and from the API ports (${
        apiPorts(config).join(", ")
      }, from API_PORT and API_WORKERS)`
    )
  }
  return config
}

/** The API workers' ports: consecutive from API_PORT, or all 0 (each picks a free one). */
export const apiPorts = (config: Config): Array<number> =>
  Array.from({ length: config.apiWorkers }, (_, index) => config.apiPort === 0 ? 0 : config.apiPort + index)

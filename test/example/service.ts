// Runs examples/service/main.ts as a real process, as a user would, and
// follows its output.
import * as Grpc from "@grpc/grpc-js"
import * as ChildProcess from "node:child_process"
import assert from "node:assert"
import * as Net from "node:net"
import * as Path from "node:path"
import { call, JobsClient } from "../../examples/service/protocol.ts"
import { isGone, killQuietly } from "../helpers/processes.ts"

export const mainModule = Path.join(import.meta.dirname, "..", "..", "examples", "service", "main.ts")

export interface Service {
  readonly pid: number
  readonly output: () => ReadonlyArray<string>
  readonly waitFor: (pattern: RegExp, count?: number) => Promise<Array<RegExpMatchArray>>
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** Every child pid printed so far. */
  readonly childPids: () => Array<number>
  /** SIGKILLs it, its children and their process groups; for `finally`. */
  readonly cleanup: () => void
}

export const start = (env: Record<string, string>): Service => {
  const child = ChildProcess.spawn(process.execPath, [mainModule], {
    env: {
      ...process.env,
      API_PORT: "0",
      ADMIN_PORT: "0",
      METRICS_PORT: "0",
      GRACEFUL_SHUTDOWN_TIMEOUT: "5",
      WORK_MS: "20",
      SCHEDULE_EVERY_MS: "3600000",
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const lines: Array<string> = []
  const waiters = new Set<() => void>()
  let partial = { stdout: "", stderr: "" }
  const onData = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
    const text = partial[stream] + chunk.toString()
    const parts = text.split("\n")
    partial = { ...partial, [stream]: parts.pop()! }
    lines.push(...parts.filter((line) => line.length > 0))
    waiters.forEach((check) => check())
  }
  child.stdout.on("data", onData("stdout"))
  child.stderr.on("data", onData("stderr"))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      waiters.forEach((check) => check())
      resolve({ code, signal })
    })
  )
  const matches = (pattern: RegExp) => lines.map((line) => line.match(pattern)).filter((match) => match !== null)
  const childPids = () => matches(/pid (\d+)/).map((match) => Number(match[1])).filter((pid) => pid !== child.pid)
  return {
    pid: child.pid!,
    output: () => lines,
    waitFor: (pattern, count = 1) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => fail(`timed out waiting for ${count} × ${pattern}`), 15_000)
        const fail = (why: string) => {
          waiters.delete(check)
          clearTimeout(timer)
          reject(new Error(`${why}:\n${lines.join("\n")}`))
        }
        const check = () => {
          const found = matches(pattern)
          if (found.length >= count) {
            waiters.delete(check)
            clearTimeout(timer)
            resolve(found.slice(0, count))
          } else if (child.exitCode !== null || child.signalCode !== null) {
            fail(`the service exited before printing ${count} × ${pattern}`)
          }
        }
        waiters.add(check)
        check()
      }),
    exited,
    childPids,
    cleanup: () => {
      const pids = [child.pid!, ...childPids()]
      killQuietly(pids.map((pid) => -pid))
      killQuietly(pids)
    }
  }
}

/** Waits for the service to be ready (its own "ready:" line); returns the ports it printed. */
export const ready = async (service: Service, apiWorkers = 2) => {
  const api = await service.waitFor(/^\[api-\d+\] listening on 127\.0\.0\.1:(\d+), pid (\d+)/, apiWorkers)
  const [health] = await service.waitFor(/health on http:\/\/127\.0\.0\.1:(\d+)/)
  const [admin] = await service.waitFor(/admin gRPC on 127\.0\.0\.1:(\d+)/)
  const [worker] = await service.waitFor(/^\[worker\] ready, pid (\d+)/)
  const [scheduler] = await service.waitFor(/^\[scheduler\] ready, pid (\d+)/)
  await service.waitFor(/ INFO \(#\d+\): ready: /)
  const pidOf = (name: string) =>
    Number(service.output().find((line) => line.startsWith(`[${name}] listening`))!.match(/pid (\d+)/)![1])
  const byName = service.output().filter((line) => /^\[api-\d+\] listening/.test(line)).sort()
  assert(api.length === byName.length)
  return {
    /** api-1's port first. */
    apiPorts: byName.map((line) => Number(line.match(/127\.0\.0\.1:(\d+)/)![1])),
    apiPid: pidOf,
    healthPort: Number(health[1]),
    adminPort: Number(admin[1]),
    workerPid: Number(worker[1]),
    schedulerPid: Number(scheduler[1])
  }
}

/** GET on the health endpoint: the status and the body. */
export const probe = async (port: number, path: string): Promise<{ readonly status: number; readonly body: string }> => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: response.status, body: await response.text() }
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** `count` consecutive ports free on loopback right now, for API_PORT with API_WORKERS = count. */
export const freeConsecutivePorts = async (count: number): Promise<number> => {
  const listen = (port: number) =>
    new Promise<Net.Server | undefined>((resolve) => {
      const server = Net.createServer()
      server.once("error", () => resolve(undefined))
      server.listen(port, "127.0.0.1", () => resolve(server))
    })
  const close = (servers: ReadonlyArray<Net.Server>) =>
    Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  while (true) {
    const first = (await listen(0))!
    const base = (first.address() as Net.AddressInfo).port
    const held = [first]
    while (held.length < count && base + held.length <= 65535) {
      const next = await listen(base + held.length)
      if (next === undefined) break
      held.push(next)
    }
    await close(held)
    if (held.length === count) return base
  }
}

export const jobsClient = (port: number) => new JobsClient(`127.0.0.1:${port}`, Grpc.credentials.createInsecure())

export { call }

/** Resolves once every pid is gone, checking /proc as processes exit; rejects after `withinMs`. */
export const allGone = (pids: ReadonlyArray<number>, withinMs: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const startedAt = Date.now()
    const check = () => {
      if (pids.every(isGone)) return resolve(Date.now() - startedAt)
      if (Date.now() - startedAt > withinMs) {
        return reject(new Error(`still running after ${withinMs} ms: ${pids.filter((pid) => !isGone(pid)).join(", ")}`))
      }
      setTimeout(check, 20)
    }
    check()
  })

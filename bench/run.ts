// `npm run bench`: the same scenarios, in the same run, against our supervisor
// through the library (bench/supervisor.ts) and through the command line (the built
// bundle, `node dist/bin/bin.js run`), the floor (bench/floor.ts: the least a correct
// supervisor does, in plain Node) and `concurrently --kill-others --kill-timeout`, with
// real processes on loopback only. Prints one table side by side, with library − floor
// and CLI − floor, and writes the figures to bench/results/latest.json (partial runs:
// partial.json).
//
// Every run is bounded: a supervisor that does not exit in time is recorded as
// such, and it and its children are SIGKILLed before the next run.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Module from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { binPath, type Build, ensureBuilt } from "./build.ts"

const benchDir = import.meta.dirname
const workDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-supervise-bench-"))
const root = Path.dirname(benchDir)
const node = process.execPath
const childModule = Path.join(benchDir, "child.ts")
const ourSupervisor = Path.join(benchDir, "supervisor.ts")
// The floor runs as plain JavaScript (bench/floor.ts, its types stripped once, here): Node's
// own TypeScript stripping would add ~15 MB and, with a cold compile cache, ~80 ms to its
// start-up, which no supervisor needs to pay.
const floorSupervisor = Path.join(workDir, "floor.mjs")
{
  // Without its "experimental feature" warning.
  const emitWarning = process.emitWarning
  process.emitWarning = () => {}
  try {
    Fs.writeFileSync(floorSupervisor, Module.stripTypeScriptTypes(Fs.readFileSync(Path.join(benchDir, "floor.ts"), "utf8")))
  } finally {
    process.emitWarning = emitWarning
  }
}
const concurrentlyBin = Path.join(root, "node_modules", "concurrently", "dist", "bin", "concurrently.js")

type SideName = "ours" | "floor" | "peer" | "cli"
/** The order the sides run in, within a scenario. */
const allSides: ReadonlyArray<SideName> = ["ours", "floor", "peer", "cli"]
const sideTitles: Record<SideName, string> = {
  ours: "effect-supervise (library)",
  floor: "floor (bench/floor.ts)",
  peer: "concurrently --kill-others",
  cli: "effect-supervise run (CLI)"
}
/** The sides compared with the floor, column by column. */
const differenced = ["ours", "cli"] as const

// ---------------------------------------------------------------- utilities

const now = () => process.hrtime.bigint()
const msBetween = (from: bigint, to: bigint) => Number(to - from) / 1e6
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

// A seeded generator, so both sides get the same random drains and moments.
const random = (() => {
  let state = Number(process.env.BENCH_SEED ?? 42) >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
})()

interface LogLine {
  readonly event: string
  readonly name: string
  readonly pid: number
  readonly ns: bigint
}

/** The earliest stamp (bigints: Array.prototype.sort would compare them as strings). */
const earliest = (stamps: ReadonlyArray<bigint>): bigint | undefined =>
  stamps.reduce<bigint | undefined>((min, ns) => (min === undefined || ns < min ? ns : min), undefined)

const readLog = (file: string): Array<LogLine> => {
  let text = ""
  try {
    text = Fs.readFileSync(file, "utf8")
  } catch {
    return []
  }
  return text.split("\n").filter((line) => line.length > 0).map((line) => {
    const [event, name, pid, ns] = line.split(" ")
    return { event, name, pid: Number(pid), ns: BigInt(ns) }
  })
}

const waitForEvents = async (file: string, event: string, count: number, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = readLog(file).filter((line) => line.event === event)
    if (found.length >= count) return found
    if (Date.now() > deadline) throw new Error(`${count} × ${event} not seen in ${timeoutMs} ms (${found.length} seen)`)
    await sleep(5)
  }
}

/** The first `event` line, seen as soon as it is written (inotify, with a 5 ms poll as a fallback). */
const waitForFirstEvent = (file: string, event: string, timeoutMs: number) =>
  new Promise<LogLine>((resolve, reject) => {
    let done = false
    const check = () => {
      const line = done ? undefined : readLog(file).find((entry) => entry.event === event)
      if (line === undefined) return
      settle()
      resolve(line)
    }
    const watcher = Fs.watch(file, check)
    const poll = setInterval(check, 5)
    const timer = setTimeout(() => {
      settle()
      reject(new Error(`no ${event} seen in ${timeoutMs} ms`))
    }, timeoutMs)
    const settle = () => {
      done = true
      watcher.close()
      clearInterval(poll)
      clearTimeout(timer)
    }
    check()
  })

/**
 * A live (not zombie) child of the bench: `node bench/child.ts` (or a shell or `env` on its
 * way to exec it), or a `targets` child (`/bin/sh -c '… exec sleep 600'`, then `sleep 600`).
 */
const isAlive = (pid: number): boolean => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "latin1")
    if (/^\d+ \(.*\) Z/.test(stat)) return false
    const cmdline = Fs.readFileSync(`/proc/${pid}/cmdline`, "latin1")
    return cmdline.includes("child.ts") || cmdline.startsWith("sleep\0") || cmdline.startsWith("/bin/sh\0-c\0")
  } catch {
    return false
  }
}

const killAll = (pids: ReadonlyArray<number>) => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // gone
    }
  }
}

/**
 * Every live child of a run, whether it logged `start` or not (one spawned and
 * signalled before its first line): the processes whose environment names the run's log,
 * but the supervisor (whose environment names it too, and whose command line names the children's).
 */
const runChildren = (log: string, supervisorPid: number): Array<number> => {
  const marker = `BENCH_LOG=${log}\0`
  const pids: Array<number> = []
  for (const entry of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === supervisorPid) continue
    try {
      if (Fs.readFileSync(`/proc/${entry}/environ`, "latin1").includes(marker)) pids.push(Number(entry))
    } catch {
      // gone, or not ours to read
    }
  }
  return pids.filter(isAlive)
}

/** Waits (bounded) until none of `pids` is alive, so dying children do not load the next run. */
const waitGone = async (pids: ReadonlyArray<number>) => {
  const deadline = Date.now() + 10_000
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(10)
}

/** SIGKILLs a process group and waits (bounded) until it is gone, so it cannot load the next run. */
const killGroup = async (pgid: number) => {
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      process.kill(-pgid, "SIGKILL")
    } catch {
      return
    }
    if (Date.now() > deadline) return
    await sleep(10)
  }
}

/** CPU time of a whole process (every thread), in ms: from per-thread schedstat (ns) when available. */
const cpuMillis = (pid: number): number => {
  try {
    const tasks = Fs.readdirSync(`/proc/${pid}/task`)
    return tasks.reduce((sum, task) => {
      const [onCpu] = Fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, "latin1").split(" ")
      return sum + Number(onCpu) / 1e6
    }, 0)
  } catch {
    const fields = Fs.readFileSync(`/proc/${pid}/stat`, "latin1").replace(/^.*\) /, "").split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  }
}

const threadCpuMillis = (pid: number, tid: number): number =>
  Number(Fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "latin1").split(" ")[0]) / 1e6

const rssBytes = (pid: number): number => {
  const status = Fs.readFileSync(`/proc/${pid}/status`, "latin1")
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024
}

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

// ---------------------------------------------------------------- one supervisor run

interface ChildConfig {
  readonly name: string
  readonly env: Record<string, string>
  /** A shell script run as `/bin/sh -c <script>` on every side, instead of `node bench/child.ts`. */
  readonly script?: string
}

interface Supervisor {
  readonly pid: number
  readonly log: string
  /** Stamped (runner's monotonic clock) just before the supervisor's spawn (fork + exec). */
  readonly execNs: bigint
  /** Resolves at the supervisor's exit, stamped with the runner's monotonic clock. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: string | null; readonly ns: bigint }>
  readonly output: () => string
}

let runCount = 0

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`

/**
 * Starts one side's supervisor over `children`. The child program is the same on every
 * side: `node bench/child.ts` (argv: node, child.ts) with the child's environment, or for
 * a `script` child `/bin/sh -c <script>` (argv: /bin/sh, -c, script). The run's log is in
 * the supervisor's environment too (every side's children inherit it); `extraEnv` goes to
 * the supervisor only (children inherit it as well).
 */
const start = (
  side: SideName,
  children: ReadonlyArray<ChildConfig>,
  budgetMs: number,
  extraEnv: Record<string, string> = {}
): Supervisor => {
  const log = Path.join(workDir, `run-${runCount++}.log`)
  const withLog = children.map((child) => ({ ...child, env: { ...child.env, NAME: child.name, BENCH_LOG: log } }))
  let args: Array<string>
  let env: NodeJS.ProcessEnv = { ...process.env, BENCH_LOG: log, ...extraEnv }
  // Created empty, so it can be watched before the first child writes.
  Fs.writeFileSync(log, "")
  if (side === "ours" || side === "floor") {
    const config = Path.join(workDir, `run-${runCount}.json`)
    const configChildren = withLog.map((child) =>
      child.script === undefined
        ? { name: child.name, env: child.env }
        : { name: child.name, env: child.env, command: "/bin/sh", args: ["-c", child.script] }
    )
    Fs.writeFileSync(config, JSON.stringify({ budgetMs, children: configChildren }))
    args = [side === "ours" ? ourSupervisor : floorSupervisor]
    env = { ...env, BENCH_CONFIG: config, BENCH_CHILD_MODULE: childModule }
  } else if (side === "peer") {
    // concurrently runs each command with `/bin/sh -c <command>`: a script is given as is;
    // node children are `exec`ed by that shell, so the logged pid is the process concurrently waits for.
    const commands = withLog.map((child) =>
      child.script ?? [
        ...Object.entries(child.env).map(([key, value]) => `${key}=${quote(value)}`),
        "exec",
        quote(node),
        quote(childModule)
      ].join(" ")
    )
    args = [concurrentlyBin, "--kill-others", "--kill-timeout", String(budgetMs), "--no-color", ...commands]
  } else {
    // The command line splits each command into argv without a shell: `env` (which execs
    // node in the same process) sets the child's environment; a script is `/bin/sh -c '<script>'`.
    const commands = withLog.map((child) =>
      `${child.name}=${
        child.script !== undefined
          ? `/bin/sh -c ${quote(child.script)}`
          : ["env", ...Object.entries(child.env).map(([key, value]) => quote(`${key}=${value}`)), quote(node), quote(childModule)]
            .join(" ")
      }`
    )
    args = [binPath, "run", "--grace", `${budgetMs}ms`, "--", ...commands]
  }
  // A process group of its own, so whatever it leaves behind (concurrently's `ps` runs) can be killed with it.
  const execNs = now()
  const child = ChildProcess.spawn(node, args, { stdio: ["ignore", "pipe", "pipe"], env, detached: true })
  let output = ""
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8192)
  }
  child.stdout.on("data", collect)
  child.stderr.on("data", collect)
  const exited = new Promise<{ code: number | null; signal: string | null; ns: bigint }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, ns: now() }))
  )
  return { pid: child.pid!, log, execNs, exited, output: () => output }
}

/**
 * Waits for the exit up to `timeoutMs`; then counts the children left alive (logged
 * or not) and kills everything. The log is read once every child is gone.
 */
const finish = async (supervisor: Supervisor, timeoutMs: number) => {
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, timeoutMs, undefined)))
  const result = await Promise.race([supervisor.exited, bound])
  // Cleared, so a long bound does not keep the runner alive after its last run.
  clearTimeout(timer)
  const logged = readLog(supervisor.log).filter((line) => line.event === "start").map((line) => line.pid)
  const childPids = [...new Set([...logged.filter(isAlive), ...runChildren(supervisor.log, supervisor.pid)])]
  const leftAlive = childPids.length
  if (result === undefined) {
    killAll([supervisor.pid])
    await supervisor.exited
  }
  // Again after the supervisor's death: it may have spawned more until then.
  const toKill = [...new Set([...childPids, ...runChildren(supervisor.log, supervisor.pid)])]
  killAll(toKill)
  await killGroup(supervisor.pid)
  await waitGone(toKill)
  return { exit: result, leftAlive, lines: readLog(supervisor.log) }
}

// ---------------------------------------------------------------- scenarios

const children = (count: number, env: (index: number) => Record<string, string> = () => ({})) =>
  Array.from({ length: count }, (_, index) => ({ name: `c${index}`, env: env(index) }))

interface Detection {
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly samples: Array<number>
  readonly leftAlive: number
  readonly failures: number
}

const detection = async (side: SideName, repetitions: number, moments: ReadonlyArray<number>): Promise<Detection> => {
  const samples: Array<number> = []
  let leftAlive = 0
  let failures = 0
  for (let rep = 0; rep < repetitions; rep++) {
    const supervisor = start(side, children(8, (index) => (index === 0 ? { EXIT_ON_USR2: "3" } : {})), 5_000)
    try {
      const started = await waitForEvents(supervisor.log, "start", 8, 30_000)
      await sleep(moments[rep])
      process.kill(started.find((line) => line.name === "c0")!.pid, "SIGUSR2")
      const result = await finish(supervisor, 10_000)
      leftAlive += result.leftAlive
      const exit = result.lines.find((line) => line.event === "exit")!
      const firstTerm = earliest(result.lines.filter((line) => line.event === "sigterm").map((line) => line.ns))
      if (firstTerm === undefined || result.exit === undefined) {
        failures++
        continue
      }
      samples.push(msBetween(exit.ns, firstTerm))
    } catch (error) {
      failures++
      console.error(`${side} detection #${rep}: ${String(error)}\n${supervisor.output()}`)
      await finish(supervisor, 0)
    }
  }
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: Math.max(...samples),
    samples,
    leftAlive,
    failures
  }
}

/**
 * The floor no supervisor can beat: a child logs its exit and calls process.exit;
 * how long until a bare Node parent (this runner) gets the child's "exit" event.
 */
const exitFloor = async (repetitions: number) => {
  const samples: Array<number> = []
  for (let rep = 0; rep < repetitions; rep++) {
    const log = Path.join(workDir, `floor-${rep}.log`)
    const child = ChildProcess.spawn(node, [childModule], {
      env: { ...process.env, NAME: "floor", BENCH_LOG: log, EXIT_ON_USR2: "3" },
      stdio: "ignore"
    })
    const exited = new Promise<bigint>((resolve) => child.on("exit", () => resolve(now())))
    const [started] = await waitForEvents(log, "start", 1, 30_000)
    process.kill(started.pid, "SIGUSR2")
    const seenAt = await exited
    const exit = readLog(log).find((line) => line.event === "exit")!
    samples.push(msBetween(exit.ns, seenAt))
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples), samples }
}

interface Overhead {
  readonly n: number
  /** Supervisor exit − the slowest child's drain end. */
  readonly overheadMs: number
  /** SIGTERM to the supervisor → its exit. */
  readonly totalMs: number
  readonly slowestDrainMs: number
  readonly exitCode: number | null
  readonly leftAlive: number
  /** Supervisor RSS once every child is up. */
  readonly rssBytes: number
  /** How long the runner waited for the exit before killing everything. */
  readonly waitedMs: number
}

const overheadWaitMs = 30_000

const overhead = async (side: SideName, n: number, drains: ReadonlyArray<number>): Promise<Overhead> => {
  const supervisor = start(side, children(n, (index) => ({ DRAIN_MS: String(drains[index]) })), 10_000)
  try {
    await waitForEvents(supervisor.log, "start", n, 180_000)
    // Let start-up garbage settle before the memory reading.
    await sleep(1_000)
    const rss = rssBytes(supervisor.pid)
    const signalAt = now()
    process.kill(supervisor.pid, "SIGTERM")
    const result = await finish(supervisor, overheadWaitMs)
    const drainEnds = result.lines.filter((line) => line.event === "drained").map((line) => line.ns)
    const slowest = drainEnds.reduce((a, b) => (a > b ? a : b), signalAt)
    const exitNs = result.exit?.ns
    return {
      n,
      overheadMs: exitNs === undefined ? NaN : msBetween(slowest, exitNs),
      totalMs: exitNs === undefined ? NaN : msBetween(signalAt, exitNs),
      slowestDrainMs: msBetween(signalAt, slowest),
      exitCode: result.exit?.code ?? null,
      leftAlive: result.leftAlive,
      rssBytes: rss,
      waitedMs: overheadWaitMs
    }
  } catch (error) {
    console.error(`${side} overhead N=${n}: ${String(error)}\n${supervisor.output()}`)
    await finish(supervisor, 0)
    throw error
  }
}

interface Stubborn {
  /** The trigger (SIGTERM to the supervisor, or a child's own exit) → supervisor exit; null when it did not exit. */
  readonly exitMs: number | null
  readonly exitCode: number | null
  readonly leftAlive: number
  readonly waitedMs: number
}

const stubbornBudgetMs = 1_000
const stubbornWaitMs = stubbornBudgetMs + 5_000

/** N = 10 ignoring SIGTERM; the trigger is SIGTERM to the supervisor, or (kill-others path) one child exiting. */
const stubborn = async (side: SideName, trigger: "signal" | "child-exit"): Promise<Stubborn> => {
  const list = children(10, (index) =>
    trigger === "child-exit" && index === 0 ? { EXIT_ON_USR2: "3" } : { IGNORE_SIGTERM: "1" }
  )
  const supervisor = start(side, list, stubbornBudgetMs)
  const started = await waitForEvents(supervisor.log, "start", 10, 30_000)
  const triggeredAt = now()
  if (trigger === "signal") process.kill(supervisor.pid, "SIGTERM")
  else process.kill(started.find((line) => line.name === "c0")!.pid, "SIGUSR2")
  const result = await finish(supervisor, stubbornWaitMs)
  return {
    exitMs: result.exit === undefined ? null : msBetween(triggeredAt, result.exit.ns),
    exitCode: result.exit?.code ?? null,
    leftAlive: result.leftAlive,
    waitedMs: stubbornWaitMs
  }
}

interface Idle {
  readonly cpuMs: number
  /** The main (event-loop) thread alone: timers or polling would show here. */
  readonly mainThreadCpuMs: number
  readonly seconds: number
  readonly leftAlive: number
}

const idle = async (side: SideName, seconds: number): Promise<Idle> => {
  const supervisor = start(side, children(20), 5_000)
  await waitForEvents(supervisor.log, "start", 20, 60_000)
  await sleep(1_000)
  const before = cpuMillis(supervisor.pid)
  const mainBefore = threadCpuMillis(supervisor.pid, supervisor.pid)
  await sleep(seconds * 1_000)
  const after = cpuMillis(supervisor.pid)
  const mainAfter = threadCpuMillis(supervisor.pid, supervisor.pid)
  process.kill(supervisor.pid, "SIGTERM")
  const result = await finish(supervisor, 10_000)
  return { cpuMs: after - before, mainThreadCpuMs: mainAfter - mainBefore, seconds, leftAlive: result.leftAlive }
}

interface StartUp {
  readonly n: number
  /** The supervisor's exec → its first child's `start` line, p50 over the runs. */
  readonly firstMs: number
  /** The supervisor's exec → its last child's `start` line, p50 over the runs. */
  readonly lastMs: number
  /** The supervisor's RSS as soon as every child has logged `start`, p50 over the runs. */
  readonly rssBytes: number
  readonly firstSamples: Array<number>
  readonly lastSamples: Array<number>
  readonly failures: number
  /** A child's argv (paths relative to the repository), from /proc/<pid>/cmdline: the same on every side. */
  readonly childArgv: string | undefined
}

const startUpWaitMs = 180_000

/** One start-up of N children; afterwards everything is SIGKILLed (the drain is not measured here). */
const startUpOnce = async (side: SideName, n: number) => {
  const supervisor = start(side, children(n), 5_000)
  try {
    const started = await waitForEvents(supervisor.log, "start", n, startUpWaitMs)
    const rss = rssBytes(supervisor.pid)
    const stamps = started.map((line) => line.ns)
    const first = stamps.reduce((a, b) => (a < b ? a : b))
    const last = stamps.reduce((a, b) => (a > b ? a : b))
    let childArgv: string | undefined
    try {
      childArgv = Fs.readFileSync(`/proc/${started[0].pid}/cmdline`, "latin1").split("\0").filter((arg) => arg !== "")
        .map((arg) => (arg.startsWith(root) ? Path.relative(root, arg) : arg)).join(" ")
    } catch {
      // gone already
    }
    return { firstMs: msBetween(supervisor.execNs, first), lastMs: msBetween(supervisor.execNs, last), rss, childArgv }
  } catch (error) {
    console.error(`${side} start-up N=${n}: ${String(error)}\n${supervisor.output()}`)
    return undefined
  } finally {
    await finish(supervisor, 0)
  }
}

const summarizeStartUp = (n: number, runs: ReadonlyArray<Awaited<ReturnType<typeof startUpOnce>>>): StartUp => {
  const ok = runs.filter((run) => run !== undefined)
  const firstSamples = ok.map((run) => run.firstMs)
  const lastSamples = ok.map((run) => run.lastMs)
  return {
    n,
    firstMs: percentile(firstSamples, 50),
    lastMs: percentile(lastSamples, 50),
    rssBytes: percentile(ok.map((run) => run.rss), 50),
    firstSamples,
    lastSamples,
    failures: runs.length - ok.length,
    childArgv: ok.find((run) => run.childArgv !== undefined)?.childArgv
  }
}

interface StartUpSigterm {
  readonly n: number
  /** SIGTERM to the supervisor → its exit; null when it did not exit within `waitedMs`. */
  readonly exitMs: number | null
  readonly exitCode: number | null
  /** Children that ever logged `start`. */
  readonly started: number
  /** Of those, the ones that logged `start` after the SIGTERM. */
  readonly startedAfterSignal: number
  /** SIGTERM → the first child's `sigterm` line (the stop request reaching a started child). */
  readonly firstSigtermMs: number | null
  /** The first child's `start` line → the runner's SIGTERM (the runner's own reaction). */
  readonly signalLagMs: number
  readonly leftAlive: number
  readonly waitedMs: number
}

const startUpSigtermWaitMs = 30_000

/** N children (drain 0 ms), SIGTERM to the supervisor as soon as the first child logged `start`. */
const startUpSigterm = async (side: SideName, n: number): Promise<StartUpSigterm> => {
  const supervisor = start(side, children(n), 10_000)
  try {
    const first = await waitForFirstEvent(supervisor.log, "start", startUpWaitMs)
    const signalAt = now()
    process.kill(supervisor.pid, "SIGTERM")
    const result = await finish(supervisor, startUpSigtermWaitMs)
    const starts = result.lines.filter((line) => line.event === "start")
    const firstSigterm = earliest(result.lines.filter((line) => line.event === "sigterm").map((line) => line.ns))
    return {
      n,
      exitMs: result.exit === undefined ? null : msBetween(signalAt, result.exit.ns),
      exitCode: result.exit?.code ?? null,
      started: starts.length,
      startedAfterSignal: starts.filter((line) => line.ns > signalAt).length,
      firstSigtermMs: firstSigterm === undefined ? null : msBetween(signalAt, firstSigterm),
      signalLagMs: msBetween(first.ns, signalAt),
      leftAlive: result.leftAlive,
      waitedMs: startUpSigtermWaitMs
    }
  } catch (error) {
    console.error(`${side} SIGTERM during start-up N=${n}: ${String(error)}\n${supervisor.output()}`)
    await finish(supervisor, 0)
    throw error
  }
}

// ---------------------------------------------------------------- targets (issue 9)

// The command line's targets: supervising 10 commands, RSS at most 80 MB and the first
// child spawned within 150 ms of exec. The children are nearly free shell commands, so the
// figure is the supervisor's own start-up: each appends `start <name> <pid> <wall-clock ns>`
// (CLOCK_REALTIME: a shell cannot read the monotonic clock) and execs `sleep 600`.
const targetsRssLimitMB = 80
const targetsFirstChildLimitMs = 150

const targetChildren = (count: number): Array<ChildConfig> =>
  Array.from({ length: count }, (_, index) => ({
    name: `c${index}`,
    env: {},
    script: `echo start c${index} $$ $(date +%s%N) >> $BENCH_LOG; exec sleep 600`
  }))

/**
 * CLOCK_REALTIME − the monotonic clock, in ns. Date.now() is read until it ticks: at the
 * tick the wall clock is a whole millisecond, known to within one loop turn (well under
 * 1 µs), where the monotonic clock was read just before.
 */
const clockOffsetOnce = (): bigint => {
  const before = Date.now()
  for (;;) {
    const monotonic = now()
    const wall = Date.now()
    if (wall !== before) return BigInt(wall) * 1_000_000n - monotonic
  }
}

/** The median of three readings (one may straddle a preemption). */
const clockOffset = (): bigint => {
  const readings = [clockOffsetOnce(), clockOffsetOnce(), clockOffsetOnce()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return readings[1]
}

/**
 * How the run's Node compile cache (NODE_COMPILE_CACHE, a fresh directory per run) starts:
 * - cold: empty;
 * - warm: a copy of a directory filled by one earlier run of the same side that exited
 *   normally (Node writes its cache at a normal exit only: this one is SIGTERMed and drains);
 * - prewarmed (the CLI only): a copy of a directory filled by `node dist/bin/bin.js
 *   <BENCH_PREWARM, default --version>`, as an image build would (`RUN effect-supervise --version`).
 */
type CacheMode = "cold" | "warm" | "prewarmed"
const cacheModes: ReadonlyArray<CacheMode> = ["cold", "warm", "prewarmed"]

interface TargetsRun {
  readonly firstMs: number
  readonly rssBytes: number
  readonly exitCode: number | null
  /** Exited by itself after the SIGTERM (within 10 s), rather than SIGKILLed by the runner. */
  readonly exited: boolean
  /** Children whose parent is the supervisor itself (no shell or wrapper in between): 10 expected. */
  readonly directChildren: number
  readonly leftAlive: number
}

const parentOf = (pid: number): number | undefined => {
  try {
    return Number(Fs.readFileSync(`/proc/${pid}/stat`, "latin1").replace(/^.*\) /, "").split(" ")[1])
  } catch {
    return undefined
  }
}

/** One start of `n` target children with the given cache directory; then SIGTERM and a bounded wait for the exit. */
const targetsOnce = async (side: SideName, n: number, cacheDir: string): Promise<TargetsRun | undefined> => {
  const offset = clockOffset()
  const supervisor = start(side, targetChildren(n), 5_000, { NODE_COMPILE_CACHE: cacheDir })
  try {
    const started = await waitForEvents(supervisor.log, "start", n, 30_000)
    const rss = rssBytes(supervisor.pid)
    const directChildren = started.filter((line) => parentOf(line.pid) === supervisor.pid).length
    const first = earliest(started.map((line) => line.ns))!
    process.kill(supervisor.pid, "SIGTERM")
    const result = await finish(supervisor, 10_000)
    return {
      firstMs: msBetween(supervisor.execNs + offset, first),
      rssBytes: rss,
      exitCode: result.exit?.code ?? null,
      exited: result.exit !== undefined && result.exit.signal === null,
      directChildren,
      leftAlive: result.leftAlive
    }
  } catch (error) {
    console.error(`${side} targets: ${String(error)}\n${supervisor.output()}`)
    await finish(supervisor, 0)
    return undefined
  }
}

const directoryStats = (dir: string) => {
  const files = Fs.readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((file) => Fs.statSync(Path.join(dir, file)))
    .filter((stat) => stat.isFile())
  return { files: files.length, bytes: files.reduce((sum, stat) => sum + stat.size, 0) }
}

interface Spread {
  readonly p50: number
  readonly p99: number
  readonly max: number
}

const spread = (values: ReadonlyArray<number>): Spread => ({
  p50: percentile(values, 50),
  p99: percentile(values, 99),
  max: Math.max(...values)
})

interface Targets {
  readonly mode: CacheMode
  readonly firstMs: Spread
  readonly rssMB: Spread
  readonly firstSamples: Array<number>
  readonly rssSamples: Array<number>
  readonly failures: number
  /** Runs that did not exit by themselves after the SIGTERM. */
  readonly notExited: number
  readonly leftAlive: number
  /** Runs where fewer than n children were the supervisor's own. */
  readonly indirect: number
  /** What filled the cache the runs start from (warm, prewarmed). */
  readonly template?: { readonly by: string; readonly exitCode: number | null; readonly files: number; readonly bytes: number }
}

const summarizeTargets = (
  mode: CacheMode,
  n: number,
  runs: ReadonlyArray<TargetsRun | undefined>,
  template: Targets["template"]
): Targets => {
  const ok = runs.filter((run) => run !== undefined)
  const firstSamples = ok.map((run) => run.firstMs)
  const rssSamples = ok.map((run) => run.rssBytes / 1048576)
  return {
    mode,
    firstMs: spread(firstSamples),
    rssMB: spread(rssSamples),
    firstSamples,
    rssSamples,
    failures: runs.length - ok.length,
    notExited: ok.filter((run) => !run.exited).length,
    leftAlive: ok.reduce((sum, run) => sum + run.leftAlive, 0),
    indirect: ok.filter((run) => run.directChildren < n).length,
    ...(template === undefined ? {} : { template })
  }
}

/**
 * The targets scenario: for each run, each cache mode and each side in turn (interleaved,
 * so the machine's noise falls on every side alike), one start of n target children.
 */
const targets = async (
  sides: ReadonlyArray<SideName>,
  n: number,
  repetitions: number,
  prewarm: ReadonlyArray<string>,
  step: (label: string) => void
) => {
  const cacheRoot = Fs.mkdtempSync(Path.join(workDir, "compile-cache-"))
  let dirs = 0
  const freshDir = () => {
    const dir = Path.join(cacheRoot, String(dirs++))
    Fs.mkdirSync(dir)
    return dir
  }
  const copyOf = (template: string) => {
    const dir = freshDir()
    Fs.cpSync(template, dir, { recursive: true })
    return dir
  }
  const plan = sides.flatMap((side) =>
    cacheModes.filter((mode) => mode !== "prewarmed" || side === "cli").map((mode) => ({ side, mode }))
  )
  const templates = new Map<string, { dir: string; info: NonNullable<Targets["template"]> }>()
  for (const { mode, side } of plan) {
    if (mode === "cold") continue
    const dir = freshDir()
    let info: NonNullable<Targets["template"]>
    if (mode === "warm") {
      step(`${side}: targets, filling the warm compile cache (one run, SIGTERM, normal exit)`)
      const run = await targetsOnce(side, n, dir)
      info = { by: "one run, SIGTERMed", exitCode: run?.exited === true ? run.exitCode : null, ...directoryStats(dir) }
    } else {
      const args = [binPath, ...prewarm]
      step(`${side}: targets, prewarming the compile cache: node dist/bin/bin.js ${prewarm.join(" ")}`)
      const result = ChildProcess.spawnSync(node, args, {
        env: { ...process.env, NODE_COMPILE_CACHE: dir },
        stdio: "ignore",
        timeout: 30_000
      })
      info = { by: `node dist/bin/bin.js ${prewarm.join(" ")}`, exitCode: result.status, ...directoryStats(dir) }
    }
    if (info.files === 0) console.error(`${side} targets: the ${mode} compile cache is empty (${info.by}, exit ${info.exitCode})`)
    templates.set(`${side} ${mode}`, { dir, info })
  }
  const samples = new Map(plan.map(({ mode, side }) => [`${side} ${mode}`, [] as Array<TargetsRun | undefined>]))
  for (let run = 0; run < repetitions; run++) {
    step(`targets, ${n} commands: run ${run + 1} of ${repetitions} (${plan.length} starts)`)
    for (const { mode, side } of plan) {
      const template = templates.get(`${side} ${mode}`)
      const dir = template === undefined ? freshDir() : copyOf(template.dir)
      samples.get(`${side} ${mode}`)!.push(await targetsOnce(side, n, dir))
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
  Fs.rmSync(cacheRoot, { recursive: true, force: true })
  return Object.fromEntries(
    sides.map((side) => [
      side,
      plan.filter((entry) => entry.side === side).map(({ mode }) =>
        summarizeTargets(mode, n, samples.get(`${side} ${mode}`)!, templates.get(`${side} ${mode}`)?.info)
      )
    ])
  ) as Record<SideName, Array<Targets>>
}

// ---------------------------------------------------------------- main

const fmt = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value) ? "—" : value.toFixed(digits)
const signed = (value: number, digits: number) => `${value >= 0 ? "+" : ""}${value.toFixed(digits)}`

/** A figure of one side; `values` (when given) are differenced, ours − floor, in the table. */
interface Cell {
  readonly text: string
  readonly values?: ReadonlyArray<number | null | undefined>
}

// Counts and bookkeeping: meaningless as a difference.
const notDifferenced = new Set([
  "n",
  "samples",
  "firstSamples",
  "lastSamples",
  "waitedMs",
  "exitCode",
  "leftAlive",
  "failures",
  "seconds",
  "nLarge",
  "rssSamples",
  "notExited",
  "indirect",
  "template"
])

/** a − b for every number both have at the same place (arrays: entries matched by `n`, or by `mode`). */
const difference = (a: unknown, b: unknown): unknown => {
  if (typeof a === "number" && typeof b === "number") return a - b
  if (Array.isArray(a) && Array.isArray(b)) {
    type Entry = { n?: number; mode?: string }
    const key = (entry: Entry) => (entry.n !== undefined ? { n: entry.n } : { mode: entry.mode })
    const same = (x: Entry, y: Entry) => (x.n !== undefined ? x.n === y.n : x.mode === y.mode)
    return a.flatMap((entry: Entry) => {
      const match = b.find((other: Entry) => same(entry, other))
      return match === undefined ? [] : [{ ...key(entry), ...(difference(entry, match) as object) }]
    })
  }
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const entries = Object.entries(a)
      .filter(([key]) => !notDifferenced.has(key) && key in b)
      .map(([key, value]) => [key, difference(value, (b as Record<string, unknown>)[key])] as const)
      .filter(([, value]) => value !== undefined)
    return entries.length === 0 ? undefined : Object.fromEntries(entries)
  }
  return undefined
}

const listFrom = (variable: string, fallback: string) =>
  (process.env[variable] ?? fallback).split(",").map((item) => item.trim()).filter((item) => item.length > 0)

const scenarioNames = ["targets", "exit-floor", "detection", "overhead", "stubborn", "idle", "startup", "startup-sigterm"]

const main = async () => {
  const startedAt = Date.now()
  const repetitions = Number(process.env.BENCH_REPETITIONS ?? 30)
  const sizes = listFrom("BENCH_SIZES", "1,10,100,500").map(Number)
  const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 10)
  // "floor" is the scenario's former name (before the floor supervisor), still accepted.
  const only = new Set(listFrom("BENCH_ONLY", scenarioNames.join(",")).map((name) => (name === "floor" ? "exit-floor" : name)))
  const sides = listFrom("BENCH_SIDES", allSides.join(",")) as Array<SideName>
  const startUpSizes = listFrom("BENCH_STARTUP_SIZES", "10,500").map(Number)
  const startUpRepetitions = Number(process.env.BENCH_STARTUP_REPETITIONS ?? 5)
  const startUpSigtermN = Number(process.env.BENCH_STARTUP_SIGTERM_N ?? 600)
  const targetsN = Number(process.env.BENCH_TARGETS_N ?? 10)
  const targetsRepetitions = Number(process.env.BENCH_TARGETS_REPETITIONS ?? 20)
  const prewarm = (process.env.BENCH_PREWARM ?? "--version").split(" ").filter((word) => word.length > 0)
  for (const name of only) if (!scenarioNames.includes(name)) throw new Error(`BENCH_ONLY: unknown scenario ${name}`)
  for (const side of sides) if (!allSides.includes(side)) throw new Error(`BENCH_SIDES: unknown side ${side}`)
  // In allSides' order, whatever order BENCH_SIDES gives.
  sides.sort((a, b) => allSides.indexOf(a) - allSides.indexOf(b))
  const moments = Array.from({ length: repetitions }, () => Math.round(random() * 100))
  const drains = Array.from({ length: Math.max(...sizes) }, () => Math.round(random() * 300))

  interface SideResults {
    detection?: Detection
    overhead: Array<Overhead>
    stubborn?: Stubborn
    stubbornKillOthers?: Stubborn
    idle?: Idle
    startUp: Array<StartUp>
    startUpSigterm?: StartUpSigterm
    targets?: Array<Targets>
  }
  const results = Object.fromEntries(sides.map((side) => [side, { overhead: [], startUp: [] }])) as unknown as Record<
    SideName,
    SideResults
  >

  const step = (label: string) => console.error(`[bench ${((Date.now() - startedAt) / 1000).toFixed(0)} s] ${label}`)

  // The command line runs from its bundle, built from the checked-out sources.
  let build: Build | undefined
  if (sides.includes("cli")) {
    build = ensureBuilt(step)
    step(`cli: dist/bin/bin.js of commit ${build.commit.slice(0, 7)}${build.dirty ? " (uncommitted changes)" : ""}, built ${build.builtAt}`)
  }

  if (only.has("targets")) {
    step(`targets: ${targetsN} commands, ${targetsRepetitions} runs per side and compile cache`)
    const figures = await targets(sides, targetsN, targetsRepetitions, prewarm, step)
    for (const side of sides) results[side].targets = figures[side]
  }

  let exitFloorResult: Awaited<ReturnType<typeof exitFloor>> | undefined
  if (only.has("exit-floor")) {
    step(`exit floor: a child's own exit seen by a bare Node parent, ${repetitions} ×`)
    exitFloorResult = await exitFloor(repetitions)
  }
  for (const side of only.has("detection") ? sides : []) {
    step(`${side}: detection, ${repetitions} × N = 8`)
    results[side].detection = await detection(side, repetitions, moments)
  }
  for (const n of only.has("overhead") ? sizes : []) {
    for (const side of sides) {
      step(`${side}: shutdown overhead, N = ${n}`)
      results[side].overhead.push(await overhead(side, n, drains))
    }
  }
  for (const side of only.has("stubborn") ? sides : []) {
    step(`${side}: stubborn children, SIGTERM to the supervisor`)
    results[side].stubborn = await stubborn(side, "signal")
    step(`${side}: stubborn children, one child exits (kill-others path)`)
    results[side].stubbornKillOthers = await stubborn(side, "child-exit")
  }
  for (const side of only.has("idle") ? sides : []) {
    step(`${side}: idle, 20 children, ${idleSeconds} s`)
    results[side].idle = await idle(side, idleSeconds)
  }
  for (const n of only.has("startup") ? startUpSizes : []) {
    // Large N once (each run starts N Node processes); the sides interleaved, run by run.
    const runs = n > 100 ? 1 : startUpRepetitions
    const samples = Object.fromEntries(sides.map((side) => [side, [] as Array<Awaited<ReturnType<typeof startUpOnce>>>]))
    for (let run = 0; run < runs; run++) {
      for (const side of sides) {
        step(`${side}: start-up, N = ${n}, run ${run + 1} of ${runs}`)
        samples[side].push(await startUpOnce(side, n))
      }
    }
    for (const side of sides) results[side].startUp.push(summarizeStartUp(n, samples[side]))
  }
  for (const side of only.has("startup-sigterm") ? sides : []) {
    step(`${side}: SIGTERM during start-up, N = ${startUpSigtermN}`)
    results[side].startUpSigterm = await startUpSigterm(side, startUpSigtermN)
  }

  const memoryOf = (side: SideName) => {
    const small = results[side].overhead.find((o) => o.n === 10)
    const large = results[side].overhead.find((o) => o.n === Math.max(...sizes))
    if (small === undefined || large === undefined || large.n === small.n) return undefined
    return {
      rss10: small.rssBytes,
      rssLarge: large.rssBytes,
      nLarge: large.n,
      bytesPerChild: (large.rssBytes - small.rssBytes) / (large.n - small.n)
    }
  }
  const memory = Object.fromEntries(sides.map((side) => [side, memoryOf(side)]))
  // library − floor and CLI − floor, for the sides run beside the floor.
  const shownDifferences = sides.includes("floor") ? differenced.filter((side) => sides.includes(side)) : []
  const minusFloor = (side: (typeof differenced)[number]) =>
    shownDifferences.includes(side)
      ? difference({ ...results[side], memory: memory[side] }, { ...results.floor, memory: memory.floor })
      : undefined
  const oursMinusFloor = minusFloor("ours")
  const cliMinusFloor = minusFloor("cli")

  const rows: Array<{ readonly label: string; readonly cells: Record<string, string> }> = []
  const row = (
    label: string,
    cell: (side: SideName) => Cell,
    digits = 1,
    formatDifference: (texts: ReadonlyArray<string>) => string = (texts) => texts.join(" / ")
  ) => {
    const cells = Object.fromEntries(sides.map((side) => [side, cell(side)])) as Record<SideName, Cell>
    const floor = cells.floor?.values
    const differenceText = (side: SideName) => {
      const values = cells[side]?.values
      return values !== undefined && floor !== undefined
        ? formatDifference(values.map((value, index) => {
          const base = floor[index]
          return typeof value === "number" && typeof base === "number" && !Number.isNaN(value - base)
            ? signed(value - base, digits)
            : "—"
        }))
        : ""
    }
    rows.push({
      label,
      cells: {
        ...Object.fromEntries(sides.map((side) => [side, cells[side].text])),
        ...Object.fromEntries(shownDifferences.map((side) => [`${side} − floor`, differenceText(side)]))
      }
    })
  }
  const failed = (count: number) => (count > 0 ? ` (${count} failed)` : "")
  const inBrackets = ([first, second]: ReadonlyArray<string>) => `${first} (${second})`
  const exitText = (exitMs: number | null, exitCode: number | null, waitedMs: number) =>
    exitMs === null ? `no exit in ${waitedMs / 1000} s` : `${fmt(exitMs, 0)} (exit ${exitCode})`

  const firstShown = (["ours", "cli", "floor", "peer"] as const).find((side) => sides.includes(side))
  const modeTitles: Record<CacheMode, string> = {
    cold: "cold compile cache",
    warm: "warm compile cache",
    prewarmed: `compile cache prewarmed by \`${prewarm.join(" ")}\``
  }
  const targetsOf = (side: SideName, mode: CacheMode) => results[side].targets?.find((entry) => entry.mode === mode)
  for (const mode of only.has("targets") ? cacheModes : []) {
    if (!sides.some((side) => targetsOf(side, mode) !== undefined)) continue
    row(`Targets, ${targetsN} commands, ${modeTitles[mode]}: exec → first child, p50 / p99 / max, ms (${targetsRepetitions} runs)`, (side) => {
      const t = targetsOf(side, mode)
      return t === undefined
        ? { text: "—" }
        : {
          text: `${fmt(t.firstMs.p50)} / ${fmt(t.firstMs.p99)} / ${fmt(t.firstMs.max)}${failed(t.failures)}`,
          values: [t.firstMs.p50, t.firstMs.p99, t.firstMs.max]
        }
    })
    row(`Targets, ${targetsN} commands, ${modeTitles[mode]}: RSS once all are up, p50 / p99 / max, MB`, (side) => {
      const t = targetsOf(side, mode)
      return t === undefined
        ? { text: "—" }
        : { text: `${fmt(t.rssMB.p50)} / ${fmt(t.rssMB.p99)} / ${fmt(t.rssMB.max)}`, values: [t.rssMB.p50, t.rssMB.p99, t.rssMB.max] }
    })
  }
  if (exitFloorResult !== undefined) {
    const f = exitFloorResult
    row(
      "Exit floor: a child's exit → a bare Node parent (the runner) sees it, p50 / p99 / max, ms",
      (side) => ({ text: side === firstShown ? `${fmt(f.p50, 2)} / ${fmt(f.p99, 2)} / ${fmt(f.max, 2)}` : "(same)" })
    )
  }
  if (only.has("detection")) {
    row(`Detection p50 / p99 / max, ms (${repetitions} × N = 8)`, (side) => {
      const d = results[side].detection!
      return {
        text: `${fmt(d.p50, 2)} / ${fmt(d.p99, 2)} / ${fmt(d.max, 2)}${failed(d.failures)}`,
        values: [d.p50, d.p99, d.max]
      }
    }, 2)
    row("Detection: children left alive (all runs)", (side) => ({ text: String(results[side].detection!.leftAlive) }))
  }
  for (const n of only.has("overhead") ? sizes : []) {
    row(`Shutdown overhead N = ${n}, ms (signal → exit)`, (side) => {
      const o = results[side].overhead.find((entry) => entry.n === n)!
      return Number.isNaN(o.totalMs)
        ? { text: `no exit in ${o.waitedMs / 1000} s (${o.leftAlive} left)`, values: [null, null] }
        : { text: `${fmt(o.overheadMs)} (${fmt(o.totalMs, 0)})`, values: [o.overheadMs, o.totalMs] }
    }, 1, inBrackets)
  }
  if (only.has("overhead")) {
    row("Shutdown: children left alive (all N)", (side) => ({
      text: String(results[side].overhead.reduce((sum, o) => sum + o.leftAlive, 0))
    }))
  }
  if (only.has("stubborn")) {
    row(`Stubborn ×10, SIGTERM, budget 1 s: signal → exit, ms`, (side) => {
      const s = results[side].stubborn!
      return { text: exitText(s.exitMs, s.exitCode, s.waitedMs), values: [s.exitMs] }
    }, 0)
    row("Stubborn ×10, SIGTERM: children left alive", (side) => ({ text: String(results[side].stubborn!.leftAlive) }))
    row(`Stubborn ×9, one child exits: exit → supervisor exit, ms`, (side) => {
      const s = results[side].stubbornKillOthers!
      return { text: exitText(s.exitMs, s.exitCode, s.waitedMs), values: [s.exitMs] }
    }, 0)
    row("Stubborn ×9, one child exits: children left alive", (side) => ({
      text: String(results[side].stubbornKillOthers!.leftAlive)
    }))
  }
  if (only.has("idle")) {
    row(`Idle CPU, 20 children, ${idleSeconds} s, ms: whole process (main thread)`, (side) => {
      const i = results[side].idle!
      return { text: `${fmt(i.cpuMs, 2)} (${fmt(i.mainThreadCpuMs, 2)})`, values: [i.cpuMs, i.mainThreadCpuMs] }
    }, 2, inBrackets)
  }
  if (only.has("overhead")) {
    row(`Memory: RSS with 10 / ${Math.max(...sizes)} children, MB`, (side) => {
      const m = memory[side]
      return m === undefined
        ? { text: "—" }
        : { text: `${fmt(m.rss10 / 1048576)} / ${fmt(m.rssLarge / 1048576)}`, values: [m.rss10 / 1048576, m.rssLarge / 1048576] }
    })
    row("Memory per child, KB", (side) => {
      const m = memory[side]
      return m === undefined ? { text: "—" } : { text: fmt(m.bytesPerChild / 1024), values: [m.bytesPerChild / 1024] }
    })
  }
  for (const n of only.has("startup") ? startUpSizes : []) {
    const runs = n > 100 ? 1 : startUpRepetitions
    row(`Start-up N = ${n}: exec → first / last child \`start\`, ms${runs > 1 ? ` (p50 of ${runs})` : ""}`, (side) => {
      const s = results[side].startUp.find((entry) => entry.n === n)!
      return { text: `${fmt(s.firstMs)} / ${fmt(s.lastMs)}${failed(s.failures)}`, values: [s.firstMs, s.lastMs] }
    })
  }
  if (only.has("startup") && startUpSizes.includes(10)) {
    row("Start-up RSS, N = 10, once every child started, MB", (side) => {
      const s = results[side].startUp.find((entry) => entry.n === 10)!
      return { text: fmt(s.rssBytes / 1048576), values: [s.rssBytes / 1048576] }
    })
  }
  if (only.has("startup-sigterm")) {
    const n = startUpSigtermN
    row(`SIGTERM at the first child's \`start\`, N = ${n}: signal → exit, ms`, (side) => {
      const s = results[side].startUpSigterm!
      return { text: exitText(s.exitMs, s.exitCode, s.waitedMs), values: [s.exitMs] }
    }, 0)
    row(`SIGTERM at the first child's \`start\`, N = ${n}: signal → first child's \`sigterm\`, ms`, (side) => {
      const s = results[side].startUpSigterm!
      return { text: fmt(s.firstSigtermMs), values: [s.firstSigtermMs] }
    })
    row(`SIGTERM at the first child's \`start\`, N = ${n}: children started (after the signal)`, (side) => {
      const s = results[side].startUpSigterm!
      return { text: `${s.started} (${s.startedAfterSignal})`, values: [s.started, s.startedAfterSignal] }
    }, 0, inBrackets)
    row(`SIGTERM at the first child's \`start\`, N = ${n}: children left alive`, (side) => ({
      text: String(results[side].startUpSigterm!.leftAlive)
    }))
  }

  // library, CLI, floor, library − floor, CLI − floor, concurrently.
  const columns = [
    ...(["ours", "cli", "floor"] as const).filter((side) => sides.includes(side)),
    ...shownDifferences.map((side) => `${side} − floor`),
    ...(sides.includes("peer") ? ["peer"] : [])
  ]
  const title = (column: string) =>
    column.endsWith(" − floor") ? `${column.startsWith("ours") ? "library" : "CLI"} − floor` : sideTitles[column as SideName]
  const table = [
    `| Scenario | ${columns.map(title).join(" | ")} |`,
    `|---|${columns.map(() => "---|").join("")}`,
    ...rows.map((entry) => `| ${entry.label} | ${columns.map((column) => entry.cells[column]).join(" | ")} |`)
  ].join("\n")

  // Pass or fail against the targets: the first child by p50 (p99 said too), RSS by its maximum.
  const verdicts = only.has("targets")
    ? sides.flatMap((side) =>
      (results[side].targets ?? []).map((t) => {
        const firstPass = t.firstMs.p50 <= targetsFirstChildLimitMs
        const rssPass = t.rssMB.max <= targetsRssLimitMB
        return {
          side,
          mode: t.mode,
          firstChildP50Ms: t.firstMs.p50,
          firstChildP99Ms: t.firstMs.p99,
          firstChildPass: firstPass,
          firstChildP99Pass: t.firstMs.p99 <= targetsFirstChildLimitMs,
          rssMaxMB: t.rssMB.max,
          rssPass,
          text: `${sideTitles[side]}, ${modeTitles[t.mode]}: first child p50 ${fmt(t.firstMs.p50)} ms ${
            firstPass ? "PASS" : "FAIL"
          } (≤ ${targetsFirstChildLimitMs}; p99 ${fmt(t.firstMs.p99)} ms ${
            t.firstMs.p99 <= targetsFirstChildLimitMs ? "pass" : "fail"
          }), RSS max ${fmt(t.rssMB.max)} MB ${rssPass ? "PASS" : "FAIL"} (≤ ${targetsRssLimitMB})${
            t.notExited + t.leftAlive + t.indirect + t.failures > 0
              ? `; ${t.failures} failed, ${t.notExited} did not exit, ${t.leftAlive} children left, ${t.indirect} runs with indirect children`
              : ""
          }`
        }
      })
    )
    : []

  const machine = {
    cpus: Os.cpus().length,
    cpuModel: Os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(Os.totalmem() / 2 ** 30),
    os: `${Os.type()} ${Os.release()}`,
    node: process.version,
    concurrently: JSON.parse(Fs.readFileSync(Path.join(root, "node_modules", "concurrently", "package.json"), "utf8")).version,
    loadAverageAtStart,
    loadAverageAtEnd: Os.loadavg()
  }
  // Every BENCH_* knob set makes a partial run (or an ablation): it goes to partial.json
  // unless BENCH_OUTPUT says otherwise, and does not replace the full figures.
  const knobs = Object.entries(process.env).filter(([key]) => key.startsWith("BENCH_") && key !== "BENCH_OUTPUT")
  const command = [...knobs.map(([key, value]) => `${key}=${value}`), "node bench/run.ts"].join(" ")
  const output = {
    date: new Date().toISOString(),
    command: knobs.length === 0 ? "npm run bench" : command,
    durationSeconds: Math.round((Date.now() - startedAt) / 1000),
    machine,
    settings: {
      repetitions,
      sizes,
      idleSeconds,
      seed: Number(process.env.BENCH_SEED ?? 42),
      only: [...only],
      sides,
      startUpSizes,
      startUpRepetitions,
      startUpSigtermN,
      targetsN,
      targetsRepetitions,
      prewarm,
      warmLogger: process.env.BENCH_WARM_LOGGER === "1"
    },
    build,
    results,
    targets: only.has("targets")
      ? { rssLimitMB: targetsRssLimitMB, firstChildLimitMs: targetsFirstChildLimitMs, verdicts }
      : undefined,
    oursMinusFloor,
    cliMinusFloor,
    exitFloor: exitFloorResult,
    memory,
    table
  }
  Fs.mkdirSync(Path.join(benchDir, "results"), { recursive: true })
  const resultFile = process.env.BENCH_OUTPUT ??
    Path.join(benchDir, "results", knobs.length === 0 ? "latest.json" : "partial.json")
  Fs.writeFileSync(resultFile, JSON.stringify(output, null, 2) + "\n")
  console.log(table)
  if (verdicts.length > 0) {
    console.log(`\nTargets (${targetsN} commands, ${targetsRepetitions} runs each):`)
    for (const verdict of verdicts) console.log(`- ${verdict.text}`)
  }
  console.log(
    `\n${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, concurrently ${machine.concurrently}; ${output.durationSeconds} s; load average ${
      loadAverageAtStart.map((load) => load.toFixed(1)).join(" ")
    } at the start, ${machine.loadAverageAtEnd.map((load) => load.toFixed(1)).join(" ")} at the end; written to ${
      Path.relative(root, resultFile)
    }`
  )
  Fs.rmSync(workDir, { recursive: true, force: true })
}

const loadAverageAtStart = Os.loadavg()

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})

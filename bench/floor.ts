// The bench's floor: the least a correct supervisor can do, in plain Node (no
// Effect, no dependencies), with the same BENCH_CONFIG as bench/supervisor.ts
// ({ budgetMs, children: [{ name, env, command?, args? }] }; without a command, a child
// is `node bench/child.ts`) and the same exit codes: 0 drained
// after a signal, 1 a child exited on its own (forced or not), 124 a signal's drain
// ran out of budget (SIGKILL).
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"

interface Config {
  readonly budgetMs: number
  readonly children: ReadonlyArray<
    { readonly name: string; readonly env: Record<string, string>; readonly command?: string; readonly args?: Array<string> }
  >
}
const config: Config = JSON.parse(Fs.readFileSync(process.env.BENCH_CONFIG!, "utf8"))
// The runner starts this file as JavaScript, its types stripped, from a scratch directory:
// it names the child module.
const childModule = process.env.BENCH_CHILD_MODULE ?? new URL("child.ts", import.meta.url).pathname

// Children spawned and not yet reaped (their "exit" event not seen).
const running = new Set<ChildProcess.ChildProcess>()
// Set by the first stop: 0 a signal, 1 a child's own exit; 124 once the budget
// forced a signal's drain. As in ours (Supervisor.check), a child's own exit keeps 1.
let exitCode: 0 | 1 | 124 | undefined

// Each child leads its own process group (detached), so the group is signalled,
// grandchildren included. Only unreaped children: a reaped leader's pid may be reused.
const signalAll = (signal: NodeJS.Signals) => {
  for (const child of running) {
    try {
      process.kill(-child.pid!, signal)
    } catch {
      // The group is already gone; its "exit" event is on its way.
    }
  }
}

const exitWhenAllReaped = () => {
  if (exitCode !== undefined && running.size === 0) process.exit(exitCode)
}

const stop = (code: 0 | 1) => {
  if (exitCode !== undefined) return // one stop, one budget: later triggers change nothing
  exitCode = code
  signalAll("SIGTERM")
  // One shared budget from the first stop; whoever is left then is killed.
  setTimeout(() => {
    if (exitCode === 0) exitCode = 124
    signalAll("SIGKILL")
  }, config.budgetMs)
  exitWhenAllReaped()
}

process.on("SIGTERM", () => stop(0))
process.on("SIGINT", () => stop(0))

const reaped = (child: ChildProcess.ChildProcess) => {
  if (!running.delete(child)) return // "error" and "exit" may both come for one child
  stop(1) // a no-op once stopping: then this is just one more child drained
  exitWhenAllReaped()
}

// One spawn per macrotask, so a signal or an early exit is handled between two
// spawns instead of after all of them; nothing is spawned once stopping.
const spawnFrom = (index: number) => {
  if (exitCode !== undefined || index >= config.children.length) return
  const { args, command, env, name } = config.children[index]
  const child = ChildProcess.spawn(command ?? process.execPath, command === undefined ? [childModule] : args ?? [], {
    env: { ...process.env, ...env, NAME: name },
    stdio: "inherit",
    detached: true
  })
  running.add(child)
  child.on("exit", () => reaped(child))
  child.on("error", () => reaped(child)) // spawn failed: no "exit" will come (no pid either)
  setImmediate(spawnFrom, index + 1)
}
spawnFrom(0)

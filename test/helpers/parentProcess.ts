// Runs test/fixtures/parent.ts as a real process and follows its output.
import * as ChildProcess from "node:child_process"
import { fixture, killQuietly } from "./processes.ts"

export interface ParentProcess {
  readonly pid: number
  /** Everything it printed so far, stdout and stderr, line by line. */
  readonly output: () => ReadonlyArray<string>
  /** Resolves with the first `count` lines matching `pattern`, as soon as they are printed. */
  readonly waitFor: (pattern: RegExp, count?: number) => Promise<Array<RegExpMatchArray>>
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** SIGKILLs it and every child pid it printed; for `finally`. */
  readonly cleanup: () => void
}

export const startParent = (env: Record<string, string>): ParentProcess => {
  const process_ = ChildProcess.spawn(process.execPath, [fixture("parent.ts")], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const lines: Array<string> = []
  const waiters = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    lines.push(...chunk.toString().split("\n").filter((line) => line.length > 0))
    waiters.forEach((check) => check())
  }
  process_.stdout.on("data", onData)
  process_.stderr.on("data", onData)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    process_.on("exit", (code, signal) => {
      waiters.forEach((check) => check())
      resolve({ code, signal })
    })
  )
  const matches = (pattern: RegExp) => lines.map((line) => line.match(pattern)).filter((match) => match !== null)
  return {
    pid: process_.pid!,
    output: () => lines,
    waitFor: (pattern, count = 1) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = matches(pattern)
          if (found.length >= count) {
            waiters.delete(check)
            resolve(found.slice(0, count))
          } else if (process_.exitCode !== null || process_.signalCode !== null) {
            waiters.delete(check)
            reject(new Error(`parent exited before printing ${count} × ${pattern}:\n${lines.join("\n")}`))
          }
        }
        waiters.add(check)
        check()
      }),
    exited,
    cleanup: () => killQuietly([process_.pid!, ...matches(/ready (\d+)/).map((match) => Number(match[1]))])
  }
}

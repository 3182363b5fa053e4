// Runs the command line (`node src/bin.ts ...`, or any other command) as a real process, each
// leading a process group of its own, and follows its output. Every process started here is
// tracked: `cleanupCli` (for `finally` or `afterEach`) freezes each one that still runs and
// everything under it, then SIGKILLs them all and their process groups.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Path from "node:path"
import { StringDecoder } from "node:string_decoder"

/** The repository's root, where `src/bin.ts` and `package.json` are. */
export const root = Path.join(import.meta.dirname, "..", "..")

/** The command line from source, as `node src/bin.ts` runs it. */
export const binFromSource = Path.join(root, "src", "bin.ts")

export type Stream = "stdout" | "stderr"

export interface Line {
  readonly stream: Stream
  readonly text: string
}

export interface Ended {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface CliProcess {
  readonly pid: number
  /** Every complete line so far, in the order they arrived, with the stream each came on. */
  readonly lines: () => ReadonlyArray<Line>
  /** The complete lines of one stream so far. */
  readonly linesOf: (stream: Stream) => Array<string>
  /** Everything written to one stream so far, byte for byte (decoded as UTF-8). */
  readonly text: (stream: Stream) => string
  /**
   * Resolves with the first `count` lines of `stream` (both when not given) that match, as
   * soon as they arrive. Rejects, with the output so far, when the process ends without them
   * or after `timeoutMs`.
   */
  readonly waitFor: (
    pattern: RegExp,
    options?: { readonly stream?: Stream; readonly count?: number; readonly timeoutMs?: number }
  ) => Promise<Array<RegExpMatchArray>>
  /** Resolves once it exited and both streams are closed (all its output is in). */
  readonly ended: Promise<Ended>
  /** `ended`, or a rejection with the output so far after `timeoutMs`. */
  readonly waitForExit: (timeoutMs?: number) => Promise<Ended>
  /** Sends a signal to it (not to its group). */
  readonly kill: (signal: NodeJS.Signals) => void
  /** The output so far, for failure messages. */
  readonly describe: () => string
}

export interface StartOptions {
  /** Added to the environment (an `undefined` value removes a variable). */
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly cwd?: string
  /**
   * The program to run instead of `node src/bin.ts`: `[command, ...args]` comes before the
   * arguments given to `start`.
   */
  readonly command?: ReadonlyArray<string>
}

const tracked = new Set<number>()

/**
 * The environment of a started process: this one's, without what would change the output's
 * colour (a test that wants it sets it), then `env`.
 */
const environment = (env: Readonly<Record<string, string | undefined>> = {}): NodeJS.ProcessEnv => {
  const result: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ["FORCE_COLOR", "NO_COLOR", "NODE_DISABLE_COLORS"]) delete result[name]
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete result[name]
    else result[name] = value
  }
  return result
}

/** Starts `node src/bin.ts ...args` (or `options.command`), detached: it leads its own process group. */
export const start = (args: ReadonlyArray<string>, options: StartOptions = {}): CliProcess => {
  const [command, ...prefix] = options.command ?? [process.execPath, binFromSource]
  const child = ChildProcess.spawn(command!, [...prefix, ...args], {
    cwd: options.cwd ?? root,
    env: environment(options.env),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true
  })
  // A failed spawn has no pid; it still ends, with the error, through "close".
  if (child.pid !== undefined) tracked.add(child.pid)
  const lines: Array<Line> = []
  const chunks: Record<Stream, Array<Buffer>> = { stdout: [], stderr: [] }
  const partial: Record<Stream, string> = { stdout: "", stderr: "" }
  // A character split across two chunks is decoded whole.
  const decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") }
  const listeners = new Set<() => void>()
  let endedWith: Ended | undefined
  let spawnError: Error | undefined

  const onData = (stream: Stream) => (chunk: Buffer) => {
    chunks[stream].push(chunk)
    const parts = (partial[stream] + decoders[stream].write(chunk)).split("\n")
    partial[stream] = parts.pop()!
    for (const text of parts) lines.push({ stream, text })
    listeners.forEach((listener) => listener())
  }
  child.stdout.on("data", onData("stdout"))
  child.stderr.on("data", onData("stderr"))
  child.on("error", (error) => {
    spawnError = error
  })
  const ended = new Promise<Ended>((resolve) =>
    child.on("close", (code, signal) => {
      for (const stream of ["stdout", "stderr"] as const) {
        // A last line without its newline still counts.
        partial[stream] += decoders[stream].end()
        if (partial[stream] !== "") lines.push({ stream, text: partial[stream] })
        partial[stream] = ""
      }
      endedWith = { code, signal }
      listeners.forEach((listener) => listener())
      resolve(endedWith)
    })
  )

  const linesOf = (stream: Stream) => lines.filter((line) => line.stream === stream).map((line) => line.text)
  const describe = () =>
    [
      `${[command, ...prefix, ...args].join(" ")}`,
      spawnError === undefined ? "" : `spawn error: ${spawnError.message}`,
      endedWith === undefined ? "still running" : `ended: code ${endedWith.code}, signal ${endedWith.signal}`,
      "--- stdout", ...linesOf("stdout"), partial.stdout,
      "--- stderr", ...linesOf("stderr"), partial.stderr
    ].filter((line) => line !== "").join("\n")

  const waitFor: CliProcess["waitFor"] = (pattern, waitOptions = {}) => {
    const { count = 1, stream, timeoutMs = 15_000 } = waitOptions
    return new Promise((resolve, reject) => {
      const matches = () =>
        lines
          .filter((line) => stream === undefined || line.stream === stream)
          .map((line) => line.text.match(pattern))
          .filter((match) => match !== null)
      const done = (settle: () => void) => {
        clearTimeout(timer)
        listeners.delete(check)
        settle()
      }
      const check = () => {
        const found = matches()
        if (found.length >= count) done(() => resolve(found.slice(0, count)))
        else if (endedWith !== undefined) {
          done(() => reject(new Error(`ended before ${count} line(s) matching ${pattern} on ${stream ?? "stdout or stderr"}:\n${describe()}`)))
        }
      }
      const timer = setTimeout(
        () => done(() => reject(new Error(`no ${count} line(s) matching ${pattern} within ${timeoutMs} ms:\n${describe()}`))),
        timeoutMs
      )
      listeners.add(check)
      check()
    })
  }

  const waitForExit = (timeoutMs = 15_000) =>
    new Promise<Ended>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms:\n${describe()}`)), timeoutMs)
      void ended.then((result) => {
        clearTimeout(timer)
        resolve(result)
      })
    })

  return {
    pid: child.pid ?? -1,
    lines: () => lines,
    linesOf,
    text: (stream) => Buffer.concat(chunks[stream]).toString("utf8"),
    waitFor,
    ended,
    waitForExit,
    kill: (signal) => {
      if (child.pid !== undefined) process.kill(child.pid, signal)
    },
    describe
  }
}

const readOrEmpty = (path: string): string => {
  try {
    return Fs.readFileSync(path, "latin1")
  } catch {
    return ""
  }
}

/** pid, parent pid and process group of a live process (not a zombie), from /proc. */
const statOf = (pid: number): { readonly ppid: number; readonly pgid: number } | undefined => {
  // The name, in parentheses, may itself contain spaces and parentheses: the fields start after the last ")".
  const stat = readOrEmpty(`/proc/${pid}/stat`)
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  if (fields.length < 3 || fields[0] === "Z") return undefined
  return { ppid: Number(fields[1]), pgid: Number(fields[2]) }
}

// Every process this worker starts inherits the marker of test/setup/processLeaks.ts: only a
// process carrying it is ever stopped or killed here, so a pid reused by someone else is safe.
const marker = process.env.EFFECT_SUPERVISE_TEST_WORKER === undefined
  ? undefined
  : `EFFECT_SUPERVISE_TEST_WORKER=${process.env.EFFECT_SUPERVISE_TEST_WORKER}`

const isOurs = (pid: number): boolean =>
  pid !== process.pid && statOf(pid) !== undefined &&
  (marker === undefined || readOrEmpty(`/proc/${pid}/environ`).split("\0").includes(marker))

const signalQuietly = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}

const livePids = (): Array<number> =>
  Fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).map(Number)

/**
 * Everything still running of what was started here: the started processes, the members of
 * their process groups, and everything under them, each stopped with SIGSTOP as it is found so
 * that none can start another process or slip away before it is killed; repeated until a pass
 * over /proc finds nothing new.
 */
const freezeAll = (): Set<number> => {
  const frozen = new Set<number>()
  const freeze = (pid: number) => {
    signalQuietly(pid, "SIGSTOP")
    frozen.add(pid)
  }
  for (const pid of livePids()) {
    const stat = statOf(pid)
    if (stat !== undefined && (tracked.has(pid) || tracked.has(stat.pgid)) && isOurs(pid)) freeze(pid)
  }
  for (let found = frozen.size > 0; found;) {
    found = false
    for (const pid of livePids()) {
      if (frozen.has(pid)) continue
      const stat = statOf(pid)
      if (stat !== undefined && (frozen.has(stat.ppid) || frozen.has(stat.pgid)) && isOurs(pid)) {
        freeze(pid)
        found = true
      }
    }
  }
  return frozen
}

/**
 * SIGKILLs every process started here that still runs, everything under it, and the process
 * groups they lead. For `finally` and `afterEach`: it leaves nothing behind, in failures too.
 */
export const cleanupCli = (): void => {
  const frozen = freezeAll()
  for (const pid of frozen) {
    // A group one of them leads: its members are ours too.
    if (statOf(pid)?.pgid === pid) signalQuietly(-pid, "SIGKILL")
    signalQuietly(pid, "SIGKILL")
  }
  tracked.clear()
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

export interface Response {
  readonly status: number
  readonly body: string
}

/** GET over a fresh connection (no agent keeps it open). */
export const httpGet = (port: number, path: string, timeoutMs = 5_000): Promise<Response> =>
  new Promise((resolve, reject) => {
    const request = Http.get({ host: "127.0.0.1", port, path, agent: false, timeout: timeoutMs }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () => resolve({ status: response.statusCode!, body: Buffer.concat(chunks).toString("utf8") }))
      response.on("error", reject)
    })
    request.on("timeout", () => request.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)))
    request.on("error", reject)
  })

/**
 * GET, retried while the server is not listening yet (connection refused), until `timeoutMs`:
 * for an endpoint that starts after the output the test can wait for.
 */
export const httpGetOnceListening = async (port: number, path: string, timeoutMs = 10_000): Promise<Response> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await httpGet(port, path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ECONNREFUSED" || Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

/** GETs until the answer satisfies `until`, or fails with the last answer after `timeoutMs`. */
export const httpGetUntil = async (
  port: number,
  path: string,
  until: (response: Response) => boolean,
  timeoutMs = 10_000
): Promise<Response> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const response = await httpGet(port, path)
    if (until(response)) return response
    if (Date.now() > deadline) throw new Error(`GET ${path}: still ${response.status} ${JSON.stringify(response.body)} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * A fifo a child can block on (`read go < FIFO`) until the test releases it. The test holds it
 * open for reading and writing, so neither side's open ever blocks, and a line written before
 * the child opens it waits in the pipe. `close` in `finally`.
 */
export const makeGate = (path: string) => {
  const made = ChildProcess.spawnSync("mkfifo", [path])
  if (made.status !== 0) throw new Error(`mkfifo ${path}: ${made.stderr}`)
  const fd = Fs.openSync(path, Fs.constants.O_RDWR | Fs.constants.O_NONBLOCK)
  let closed = false
  return {
    path,
    release: () => void Fs.writeSync(fd, "go\n"),
    close: () => {
      if (!closed) Fs.closeSync(fd)
      closed = true
    }
  }
}

/** Every flag of `run`, as the issue and the README name them. */
export const runFlags: ReadonlyArray<string> = [
  "--grace",
  "--procfile",
  "--shell",
  "--env-file",
  "--scale",
  "--port",
  "--stop-signal",
  "--notify",
  "--start-timeout",
  "--drain-delay",
  "--health",
  "--exit-code-from",
  "--no-pid1-warning"
]

// `run` in-process: every bad input is a UsageError before anything starts,
// and good flags reach the children as the command line promises.
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fs from "node:fs"
import { afterEach, assert, describe, it, vi } from "vitest"
import * as Run from "../../src/cli/Run.ts"
import { UsageError } from "../../src/cli/UsageError.ts"
import * as NodeSupervisor from "../../src/NodeSupervisor.ts"
import { freePort } from "../helpers/cliProcess.ts"
import { tempFile } from "../helpers/processes.ts"

const options = (overrides: Partial<Run.Options>): Run.Options => ({
  grace: "10s",
  procfile: undefined,
  shell: false,
  envFiles: [],
  scale: [],
  port: 5000,
  stopSignals: [],
  notify: [],
  startTimeout: "60s",
  drainDelay: "0",
  health: undefined,
  exitCodeFrom: undefined,
  pid1Warning: true,
  commands: [],
  ...overrides
})

const runExit = (given: Run.Options) => Effect.runPromiseExit(Run.run(given).pipe(Effect.provide(NodeServices.layer)))

const writeFile = (name: string, text: string): string => {
  const path = tempFile(name)
  Fs.writeFileSync(path, text)
  return path
}

/** The usage error's message; fails the test when the run did anything else. */
const usageMessage = async (given: Run.Options): Promise<string> => {
  const exit = await runExit(given)
  assert.isTrue(Exit.isFailure(exit), "expected a usage error")
  const error = Exit.isFailure(exit) ? exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error : undefined
  assert.instanceOf(error, UsageError)
  return (error as UsageError).message
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("Run.run: bad input", () => {
  // Each case also lists `touch <marker>`: a usage error must come before anything starts.
  const marker = tempFile("started")
  const touch = `toucher=touch ${marker}`
  const cases: ReadonlyArray<readonly [string, Partial<Run.Options>, string | RegExp]> = [
    ["a bad grace", { grace: "abc" }, `--grace "abc": a duration is seconds (25, 2.5) or has a unit (500ms, 25s), from 1ms to 24 days`],
    ["a zero grace", { grace: "0" }, /^--grace "0": .* from 1ms to 24 days$/],
    ["a bad drain delay", { drainDelay: "-1" }, /^--drain-delay "-1": a duration .* from 0 to 24 days$/],
    ["a bad start timeout", { startTimeout: "0" }, /^--start-timeout "0": a duration/],
    ["a drain delay as long as the grace", { grace: "2s", drainDelay: "2s" }, "--drain-delay 2s must be shorter than --grace 2s"],
    ["commands and a Procfile", { procfile: "Procfile" }, "give the commands after --, or --procfile, not both"],
    ["a malformed command", { commands: [touch, "noequals"] }, /noequals/],
    ["a bad scale", { scale: ["toucher=x"] }, /the count of toucher must be a whole number/],
    ["a scale naming nothing", { scale: ["api=2"] }, /Cannot scale "api": no command has that name/],
    ["a process named supervisor", { commands: [touch, "supervisor=true"] }, /"supervisor" names the supervisor's own lines/],
    ["a stop signal for nobody", { stopSignals: ["nobody=TERM"] }, /no process is named nobody \(there are toucher\)$/],
    ["an unknown stop signal", { stopSignals: ["SIGFOO"] }, /Unknown signal "SIGFOO"/],
    ["--notify naming nobody", { notify: ["nobody"] }, "--notify nobody: no process of that name (there are toucher)"],
    ["--exit-code-from naming nobody", { exitCodeFrom: "nobody" }, "--exit-code-from nobody: no process of that name (there are toucher)"],
    ["--health without a port", { health: "localhost" }, /^--health localhost: give HOST:PORT/],
    ["--health with a port above 65535", { health: "127.0.0.1:99999" }, /^--health 127.0.0.1:99999: give HOST:PORT with a port from 1 to 65535/],
    ["--health with port 0", { health: "127.0.0.1:0" }, /^--health 127.0.0.1:0: give HOST:PORT/],
    ["a missing env file", { envFiles: ["/nonexistent/.env"] }, /^cannot read the env file \/nonexistent\/.env: /],
    ["a malformed env file", { envFiles: [writeFile("bad.env", "OK=1\nnot a line\n")] }, /bad\.env.*line 2/],
    ["a command not on PATH", { commands: [touch, "ghost=no-such-command-here --flag"] }, "the command of ghost is not found or not executable: no-such-command-here"],
    ["a path that is not executable", { commands: [touch, `file=${writeFile("plain", "")}`] }, /the command of file is not found or not executable/],
    ["an unterminated quote", { commands: [touch, "quote=echo 'open"] }, /^the command of quote: /]
  ]
  for (const [title, overrides, expected] of cases) {
    it(`${title}: a usage error, nothing started`, async () => {
      const message = await usageMessage(options({ commands: [touch], ...overrides }))
      if (typeof expected === "string") assert.strictEqual(message, expected)
      else assert.match(message, expected)
      assert.isFalse(Fs.existsSync(marker), "a process started")
    })
  }

  it("no command at all", async () => {
    assert.match(await usageMessage(options({})), /^no command: give them after --/)
  })

  it("a Procfile that cannot be read, or has a malformed line", async () => {
    assert.match(await usageMessage(options({ procfile: "/nonexistent/Procfile" })), /^cannot read the Procfile \/nonexistent\/Procfile: /)
    assert.strictEqual(await usageMessage(options({ procfile: "/" })), "cannot read the Procfile /: it is a directory")
    assert.strictEqual(await usageMessage(options({ commands: [touch], envFiles: ["/"] })), "cannot read the env file /: it is a directory")
    const procfile = writeFile("Procfile", `toucher: touch ${marker}\n\nbroken line\n`)
    assert.match(await usageMessage(options({ procfile })), /Procfile.*line 3/)
    assert.isFalse(Fs.existsSync(marker))
  })
})

/** Writes everything written to a stream into `lines`, still passing it on. */
const capture = (stream: NodeJS.WriteStream): Array<string> => {
  const written: Array<string> = []
  const write = stream.write.bind(stream)
  vi.spyOn(stream, "write").mockImplementation(((chunk: string | Uint8Array, ...rest: Array<never>) => {
    written.push(String(chunk))
    return write(chunk, ...rest)
  }) as typeof stream.write)
  return written
}

describe("Run.run: flags reach the children", () => {
  it("a Procfile with scale, env files, stop signals by instance, type and default, --notify, --health and a drain delay", async () => {
    const dir = tempFile("procfile-run")
    Fs.mkdirSync(dir)
    // Each records its signal, then its PORT and env, then is ready; the ender waits for all three, then exits.
    const worker = (trapAll: string) =>
      `sh -c 'for s in HUP INT QUIT TERM; do trap "echo $s > ${dir}/$PORT.signal; exit 0" $s; done; ${trapAll}echo "$PORT $FROM_FILE $ONLY_FIRST" > ${dir}/$PORT.tmp; mv ${dir}/$PORT.tmp ${dir}/$PORT.env; echo READY=1 >&3; while :; do sleep 0.05; done'`
    const procfile = writeFile(
      "Procfile",
      [
        `web: ${worker("")}`,
        `worker: ${worker("")}`,
        `ender: sh -c 'until [ -e ${dir}/5000.env ] && [ -e ${dir}/5001.env ] && [ -e ${dir}/5100.env ]; do sleep 0.01; done; exit 0'`
      ].join("\n")
    )
    const first = writeFile("first.env", "FROM_FILE=first\nONLY_FIRST=kept\nPORT=1\n")
    const second = writeFile("second.env", "FROM_FILE=second\n")
    const stdout = capture(process.stdout)
    const exit = await runExit(options({
      procfile,
      scale: ["web=2"],
      envFiles: [first, second],
      stopSignals: ["SIGINT", "web=SIGHUP", "web.2=SIGQUIT"],
      notify: ["web", "worker"],
      health: `127.0.0.1:${await freePort()}`,
      grace: "5s",
      drainDelay: "20ms",
      exitCodeFrom: "ender"
    }))

    assert.isTrue(Exit.isFailure(exit))
    const report = NodeSupervisor.lastReport()
    assert.strictEqual(NodeSupervisor.exitCodeOf(exit, report), 1)
    // The health server may not have started before the ender exits: only the children are certain.
    const children = report?.members.filter((member) => member.kind === "child").map((member) => member.name)
    assert.deepStrictEqual(children?.sort(), ["ender", "web.1", "web.2", "worker"])
    assert.strictEqual(Run.exitCodeFrom, "ender")
    const read = (file: string) => Fs.readFileSync(`${dir}/${file}`, "utf8").trim()
    // PORT: base 5000, 100 per command, 1 per instance; the instance's PORT beats the env file's.
    assert.strictEqual(read("5000.env"), "5000 second kept")
    assert.strictEqual(read("5001.env"), "5001 second kept")
    assert.strictEqual(read("5100.env"), "5100 second kept")
    // An instance's own signal beats its command's, which beats the default.
    assert.strictEqual(read("5000.signal"), "HUP")
    assert.strictEqual(read("5001.signal"), "QUIT")
    assert.strictEqual(read("5100.signal"), "INT")
    // The supervisor's lines are behind its padded prefix.
    assert.isTrue(stdout.some((line) => line.startsWith("supervisor | ")), stdout.join(""))
  })

  it("--shell runs each command with sh -c; --exit-code-from records the process", async () => {
    const file = tempFile("shell-port")
    const stderr = capture(process.stderr)
    const exit = await runExit(options({
      shell: true,
      pid1Warning: false,
      exitCodeFrom: "a",
      commands: [`a=echo "$PORT" > ${file} && exit 7`, "b=while :; do sleep 0.05; done"]
    }))
    assert.isTrue(Exit.isFailure(exit))
    assert.strictEqual(Fs.readFileSync(file, "utf8").trim(), "5000")
    const a = NodeSupervisor.lastReport()?.members.find((member) => member.name === "a")
    assert.deepStrictEqual(a?.exit, { _tag: "Exited", code: 7, signal: null })
    assert.strictEqual(Run.exitCodeFrom, "a")
    // The death is a warning: on stderr, behind the prefix.
    assert.isTrue(stderr.some((line) => /^supervisor \| .*\ba\b.*7/.test(line)), stderr.join(""))
  })
})

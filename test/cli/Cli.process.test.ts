// The command line end to end: `node src/bin.ts` as a real process, supervising real `sh`
// children, driven by signals and read by its exit code, its output and files its children wrote.
// Synchronised on output lines, files and fifos, never on sleeps.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import { afterEach, assert, describe, it } from "vitest"
import {
  binFromSource,
  type CliProcess,
  cleanupCli,
  freePort,
  httpGet,
  httpGetOnceListening,
  httpGetUntil,
  makeGate,
  root,
  runFlags,
  start
} from "../helpers/cliProcess.ts"
import { isGone, tempFile, waitForLines } from "../helpers/processes.ts"

afterEach(cleanupCli)

// What each test must release in its `finally`, besides the processes.
const gates: Array<ReturnType<typeof makeGate>> = []
afterEach(() => gates.splice(0).forEach((gate) => gate.close()))
const gate = (name: string) => {
  const made = makeGate(tempFile(`${name}.fifo`))
  gates.push(made)
  return made
}

const writeFile = (name: string, text: string): string => {
  const path = tempFile(name)
  Fs.writeFileSync(path, text)
  return path
}

/** Live processes (not zombies) in a process group, from /proc. */
const groupMembers = (pgid: number): Array<number> =>
  Fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).map(Number).filter((pid) => {
    try {
      const stat = Fs.readFileSync(`/proc/${pid}/stat`, "latin1")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      return fields[0] !== "Z" && Number(fields[2]) === pgid
    } catch {
      return false
    }
  })

/** The processes with these pids, and everything in the process groups they led, are gone. */
const assertAllGone = (pids: ReadonlyArray<number>) => {
  assert.deepStrictEqual(pids.filter((pid) => !isGone(pid)), [], "processes still running")
  assert.deepStrictEqual(pids.flatMap(groupMembers), [], "process group members still running")
}

/** How a line of `name` is shown: behind the name padded to `width` (at least "supervisor"'s 10). */
const shown = (name: string, text: string, width = 10) => `${name.padEnd(width)} | ${text}`

const pidsIn = async (file: string, count: number) => (await waitForLines(file, count)).map(Number)

const assertExit = async (cli: CliProcess, code: number, timeoutMs?: number) =>
  assert.deepStrictEqual(await cli.waitForExit(timeoutMs), { code, signal: null }, cli.describe())

/** The report, on either stream: the `shutdown:` line and the member lines after it. */
const reportOf = (cli: CliProcess): Array<string> => {
  for (const stream of ["stdout", "stderr"] as const) {
    const lines = cli.linesOf(stream)
    const first = lines.findIndex((line) => /^supervisor +\| shutdown: /.test(line))
    if (first !== -1) {
      const members = lines.slice(first + 1).filter((line) => /^supervisor +\| {3}\S/.test(line))
      return [lines[first]!, ...members]
    }
  }
  assert.fail(`no report:\n${cli.describe()}`)
}

/** The report's line for one member. */
const memberLine = (cli: CliProcess, name: string): string => {
  const line = reportOf(cli).slice(1).find((line) => line.includes(` child ${name} (pid `))
  assert.isDefined(line, `no report line for ${name}:\n${cli.describe()}`)
  return line!
}

// A child that says "up", then runs until its stop signal, which it traps: it names the signal
// it got, then exits 0 (a clean stop for any stop signal).
const trappingScript = writeFile(
  "trapping.sh",
  [
    `for s in TERM INT QUIT HUP; do trap "echo got $s; exit 0" $s; done`,
    `echo up`,
    `while :; do sleep 0.05; done`
  ].join("\n")
)

describe("bad input: exit 2, one line on stderr, nothing on stdout, nothing started", () => {
  const badInput = async (args: ReadonlyArray<string>, message: RegExp, touched?: string) => {
    const cli = start(args)
    await assertExit(cli, 2)
    assert.strictEqual(cli.text("stdout"), "", cli.describe())
    const stderr = cli.linesOf("stderr")
    assert.strictEqual(stderr.length, 1, cli.describe())
    assert.match(stderr[0]!, /^effect-supervise: /)
    assert.match(stderr[0]!, message)
    if (touched !== undefined) assert.isFalse(Fs.existsSync(touched), `${touched} was created: a command started`)
  }

  /** A command whose only effect is a file: if the file exists, something started. */
  const touching = () => {
    const file = tempFile("touched")
    return { file, command: `t=touch ${file}` }
  }

  const cases: ReadonlyArray<{
    readonly name: string
    readonly args: (touch: string) => ReadonlyArray<string>
    readonly message: RegExp
  }> = [
    { name: "an unknown flag", args: (touch) => ["run", "--bogus", "--", touch], message: /--bogus/ },
    { name: "an unknown subcommand", args: (touch) => ["frob", "--", touch], message: /subcommand "frob"/ },
    { name: "no command", args: () => ["run"], message: /no command/ },
    { name: "no command after --", args: () => ["run", "--grace", "5s", "--"], message: /no command/ },
    { name: "a command without a name", args: (touch) => ["run", "--", touch, "noequals"], message: /"noequals".*no name/ },
    { name: "an empty name", args: (touch) => ["run", "--", touch, "=true"], message: /"=true".*name before "=" is empty/ },
    { name: "a name given twice", args: (touch) => ["run", "--", touch, "t=true"], message: /"t" is given twice/ },
    { name: "a bad name", args: (touch) => ["run", "--", touch, "a/b=true"], message: /bad name "a\/b"/ },
    { name: "--grace abc", args: (touch) => ["run", "--grace", "abc", "--", touch], message: /--grace "abc"/ },
    { name: "--grace 0", args: (touch) => ["run", "--grace", "0", "--", touch], message: /--grace "0"/ },
    { name: "--drain-delay soon", args: (touch) => ["run", "--drain-delay", "soon", "--", touch], message: /--drain-delay "soon"/ },
    {
      name: "--drain-delay as long as --grace",
      args: (touch) => ["run", "--grace", "5s", "--drain-delay", "5s", "--", touch],
      message: /--drain-delay 5s must be shorter than --grace 5s/
    },
    {
      name: "--drain-delay longer than --grace",
      args: (touch) => ["run", "--grace", "5s", "--drain-delay", "10s", "--", touch],
      message: /--drain-delay 10s must be shorter than --grace 5s/
    },
    { name: "--start-timeout=-1s", args: (touch) => ["run", "--start-timeout=-1s", "--", touch], message: /--start-timeout "-1s"/ },
    { name: "--stop-signal SIGFOO", args: (touch) => ["run", "--stop-signal", "SIGFOO", "--", touch], message: /Unknown signal "SIGFOO"/ },
    { name: "--stop-signal KILL", args: (touch) => ["run", "--stop-signal", "t=KILL", "--", touch], message: /SIGKILL cannot be a stop signal/ },
    {
      name: "--stop-signal for no process",
      args: (touch) => ["run", "--stop-signal", "nosuch=SIGTERM", "--", touch],
      message: /"nosuch=SIGTERM": no process is named nosuch \(there are t\)/
    },
    { name: "--notify for no process", args: (touch) => ["run", "--notify", "nosuch", "--", touch], message: /--notify nosuch: no process of that name \(there are t\)/ },
    {
      name: "--exit-code-from for no process",
      args: (touch) => ["run", "--exit-code-from", "nosuch", "--", touch],
      message: /--exit-code-from nosuch: no process/
    },
    { name: "--scale for no process", args: (touch) => ["run", "--scale", "nosuch=2", "--", touch], message: /scale "nosuch"/ },
    { name: "--scale with a bad count", args: (touch) => ["run", "--scale", "t=two", "--", touch], message: /count of t .*"two"/ },
    { name: "--port abc", args: (touch) => ["run", "--port", "abc", "--", touch], message: /port/i },
    { name: "--port 70000", args: (touch) => ["run", "--port", "70000", "--", touch], message: /port base .*70000/ },
    { name: "--health without a port", args: (touch) => ["run", "--health", "nohostport", "--", touch], message: /--health nohostport/ },
    // Once accepted, to fail only when the endpoint could not listen (exit 1, children started).
    { name: "--health with a port above 65535", args: (touch) => ["run", "--health", "127.0.0.1:99999", "--", touch], message: /--health 127\.0\.0\.1:99999/ },
    {
      name: "a command not on PATH",
      args: (touch) => ["run", "--", touch, "x=no-such-command-effect-supervise"],
      message: /command of x is not found.*no-such-command-effect-supervise/
    },
    {
      name: "shell syntax without --shell",
      args: (touch) => ["run", "--", touch, "a=echo hi | cat"],
      message: /command of a: .*"\|".*--shell/
    },
    { name: "a process named supervisor", args: (touch) => ["run", "--", touch, "supervisor=true"], message: /"supervisor" names the supervisor's own lines/ },
    {
      name: "a Procfile that cannot be read",
      args: () => ["run", "--procfile", "/nonexistent/Procfile"],
      message: /cannot read the Procfile \/nonexistent\/Procfile/
    },
    {
      name: "a malformed Procfile line, by its number",
      args: (touch) => ["run", "--procfile", writeFile("Procfile", `${touch.replace("=", ": ")}\n\n# a comment\nno colon here\n`)],
      message: /Procfile .*, line 4: .*"no colon here"/
    },
    {
      name: "a Procfile that is a directory",
      args: () => ["run", "--procfile", Os.tmpdir()],
      message: /cannot read the Procfile .*: it is a directory/
    },
    {
      name: "a Procfile with no process",
      args: () => ["run", "--procfile", writeFile("Procfile", "# only a comment\n\n")],
      message: /no processes/
    },
    {
      name: "a Procfile and commands",
      args: (touch) => ["run", "--procfile", writeFile("Procfile", `${touch.replace("=", ": ")}\n`), "--", touch.replace("t=", "u=")],
      message: /--procfile, not both/
    },
    {
      name: "a malformed env file, by its line number",
      args: (touch) => ["run", "--env-file", writeFile("env", "A=1\nB='open\n"), "--", touch],
      message: /env\b.*line 2: .*quote of B/i
    }
  ]

  for (const { args, message, name } of cases) {
    it(name, async () => {
      const { command, file } = touching()
      await badInput(args(command), message, file)
    })
  }

  it("a missing env file: today Node itself reads --env-file, even after the script, and exits first", async () => {
    // nodejs/node#54232: `node src/bin.ts run --env-file X` makes Node load X itself; a missing
    // X ends Node (exit 9, its own message) before the command line runs, so its exit 2 and
    // message cannot show. What holds: a non-zero exit, nothing started.
    const { command, file } = touching()
    const cli = start(["run", "--env-file", "/nonexistent/.env", "--", command])
    const { code } = await cli.waitForExit()
    assert.notStrictEqual(code, 0, cli.describe())
    assert.include(cli.text("stderr"), "/nonexistent/.env")
    assert.strictEqual(cli.text("stdout"), "")
    assert.isFalse(Fs.existsSync(file))
  })
})

describe("supervision", () => {
  it("a Procfile of three, one exits 3: all torn down, exit 1, the report names it and its code", async () => {
    const pids = tempFile("pids")
    const go = gate("exit3")
    const procfile = writeFile(
      "Procfile",
      [
        "# three processes",
        `web: sh -c 'echo $$ >> ${pids}; exec sleep 30'`,
        `worker: sh -c 'echo $$ >> ${pids}; exec sleep 30'`,
        "",
        `failing: sh -c 'echo $$ >> ${pids}; read go < ${go.path}; exit 3'`
      ].join("\n")
    )
    const cli = start(["run", "--procfile", procfile])
    const started = await pidsIn(pids, 3)
    go.release()
    await assertExit(cli, 1)
    assertAllGone(started)
    const [headline] = reportOf(cli)
    assert.match(headline!, /shutdown: child failing \(pid \d+\) exited on its own with code 3/)
    assert.match(memberLine(cli, "failing"), /had already exited, exited with code 3/)
    assert.match(memberLine(cli, "web"), /stopped in \d+ ms, killed by SIGTERM/)
    assert.match(memberLine(cli, "worker"), /stopped in \d+ ms, killed by SIGTERM/)
    // Said once as it happened, on stderr.
    assert.deepStrictEqual(
      cli.linesOf("stderr").filter((line) => line.includes("exited on its own")).map((line) => line.replace(/pid \d+/, "pid N")),
      [shown("supervisor", "child failing (pid N) exited on its own with code 3")]
    )
  })

  it("SIGTERM with draining children: each drains, is reported stopped, exit 0", async () => {
    const drainingScript = writeFile(
      "draining.sh",
      `trap 'sleep 0.2; echo drained; exit 0' TERM\necho "up $$"\nwhile :; do sleep 0.05; done\n`
    )
    const cli = start(["run", "--", `api=sh ${drainingScript}`, `worker=sh ${drainingScript}`])
    const pids = (await cli.waitFor(/\| up (\d+)$/, { count: 2 })).map((match) => Number(match[1]))
    cli.kill("SIGTERM")
    await assertExit(cli, 0)
    assertAllGone(pids)
    assert.includeMembers(cli.linesOf("stdout"), [shown("api", "drained"), shown("worker", "drained")])
    assert.match(reportOf(cli)[0]!, /shutdown: received SIGTERM, shutting down; drained in \d+ ms, within the 10000 ms budget$/)
    for (const name of ["api", "worker"]) {
      const [, millis] = memberLine(cli, name).match(/stopped in (\d+) ms, exited with code 0$/) ?? assert.fail(memberLine(cli, name))
      // Each slept 0.2 s in its drain.
      assert.isAtLeast(Number(millis), 200)
    }
    // The supervisor had nothing to warn about (what is there is the children's: their shell
    // saying that its `sleep` was terminated).
    assert.deepStrictEqual(cli.linesOf("stderr").filter((line) => line.startsWith("supervisor")), [])
  })

  it("a child that ignores SIGTERM: SIGKILLed with its group at --grace, exit 124, nothing left", async () => {
    const cli = start(["run", "--grace", "1s", "--", `stubborn=sh -c 'trap "" TERM; echo "up $$"; while :; do sleep 0.05; done'`])
    const [[, pid]] = await cli.waitFor(/\| up (\d+)$/) as [RegExpMatchArray]
    const signalledAt = performance.now()
    cli.kill("SIGTERM")
    await assertExit(cli, 124)
    // The whole budget was given (less clock rounding).
    assert.isAtLeast(performance.now() - signalledAt, 950)
    assertAllGone([Number(pid)])
    assert.match(reportOf(cli)[0]!, /forced by the 1000 ms budget/)
    assert.match(memberLine(cli, "stubborn"), /forced after \d+ ms, killed by SIGKILL/)
  })

  it("a second SIGTERM during the drain forces at once: exit 124", async () => {
    const cli = start(["run", "--grace", "60s", "--", `stubborn=sh -c 'trap "" TERM; echo "up $$"; while :; do sleep 0.05; done'`])
    const [[, pid]] = await cli.waitFor(/\| up (\d+)$/) as [RegExpMatchArray]
    cli.kill("SIGTERM")
    await cli.waitFor(/^supervisor \| received SIGTERM, shutting down$/)
    cli.kill("SIGTERM")
    // Well before the 60 s budget.
    await assertExit(cli, 124, 15_000)
    assertAllGone([Number(pid)])
    assert.match(reportOf(cli)[0]!, /forced by a second signal/)
    assert.match(memberLine(cli, "stubborn"), /forced after \d+ ms, killed by SIGKILL/)
  })

  for (const signal of ["SIGINT", "SIGHUP", "SIGQUIT"] as const) {
    it(`${signal} drains like SIGTERM: exit 0`, async () => {
      const cli = start(["run", "--", `app=sh -c 'echo "up $$"; exec sleep 30'`])
      const [[, pid]] = await cli.waitFor(/\| up (\d+)$/) as [RegExpMatchArray]
      cli.kill(signal)
      await assertExit(cli, 0)
      assertAllGone([Number(pid)])
      assert.match(reportOf(cli)[0]!, new RegExp(`shutdown: received ${signal}, shutting down; drained in`))
      assert.match(memberLine(cli, "app"), /stopped in \d+ ms, killed by SIGTERM/)
    })
  }

  it("an ignored signal (SIGUSR2): one warning on stderr behind the supervisor's prefix, and supervision goes on", async () => {
    const cli = start(["run", "--", `app=sh ${trappingScript}`])
    await cli.waitFor(/^app +\| up$/)
    cli.kill("SIGUSR2")
    await cli.waitFor(/SIGUSR2/)
    // Once it came in Effect's default log format, on stdout ("[hh:mm:ss] WARN (#n): ...").
    assert.deepStrictEqual(
      cli.lines().filter((line) => line.text.includes("SIGUSR2")),
      [{ stream: "stderr", text: shown("supervisor", "received SIGUSR2: ignored, it is not a drain signal") }],
      cli.describe()
    )
    // Still supervising: the child runs, and a drain signal still drains it.
    assert.notInclude(cli.text("stdout"), "shutdown:")
    cli.kill("SIGTERM")
    await assertExit(cli, 0)
    assert.include(cli.linesOf("stdout"), shown("app", "got TERM"))
  })
})

describe("output", () => {
  // Counts from $1 to $2, one number a line; on SIGTERM counts on to $3 and exits 0. With
  // `exit` as $3, exits 0 once it has counted.
  const countingScript = writeFile(
    "counting.sh",
    [
      `count() { i=$1; while [ "$i" -le "$2" ]; do echo "$i"; i=$((i + 1)); done; }`,
      `if [ "$3" = exit ]; then count "$1" "$2"; exit 0; fi`,
      `trap 'count $(($2 + 1)) $3; exit 0' TERM`,
      `count "$1" "$2"`,
      `while :; do sleep 0.05; done`
    ].join("\n")
  )
  const numbersOf = (cli: CliProcess, prefix: string) =>
    cli.linesOf("stdout").filter((line) => line.startsWith(prefix)).map((line) => line.slice(prefix.length))
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i))

  it("each child's lines in order, behind its name padded to the longest; the report last on stdout", async () => {
    const cli = start(["run", "--", `short=sh ${countingScript} 1 2000 3000`, `second-counter=sh ${countingScript} 1 2000 3000`])
    await cli.waitFor(/^short +\| 2000$/)
    await cli.waitFor(/^second-counter \| 2000$/)
    cli.kill("SIGTERM")
    await assertExit(cli, 0)
    // Every line of each, in order, none lost or cut, though they came interleaved.
    assert.deepStrictEqual(numbersOf(cli, shown("short", "", 14)), range(1, 3000))
    assert.deepStrictEqual(numbersOf(cli, shown("second-counter", "", 14)), range(1, 3000))
    const stdout = cli.linesOf("stdout")
    assert.deepStrictEqual(
      stdout.filter((line) => !["short", "second-counter", "supervisor"].some((name) => line.startsWith(shown(name, "", 14)))),
      [],
      "every line has a padded prefix"
    )
    // The report is the last thing on stdout: its headline, then one line per member.
    const headline = stdout.findIndex((line) => line.startsWith(shown("supervisor", "shutdown: ", 14)))
    assert.match(stdout[headline]!, /received SIGTERM/)
    assert.deepStrictEqual(
      stdout.slice(headline + 1).map((line) => line.replace(/\(pid \d+\).*/, "")),
      [shown("supervisor", "  child short ", 14), shown("supervisor", "  child second-counter ", 14)]
    )
  })

  it("a child that exits after 2000 lines: every one of them comes before the report", async () => {
    // The one that goes on first: the commands start in order, and none after a first exit.
    const cli = start(["run", "--", `second-counter=sh ${countingScript} 1 2000 3000`, `quick=sh ${countingScript} 1 2000 exit`])
    await assertExit(cli, 1)
    assert.deepStrictEqual(numbersOf(cli, shown("quick", "", 14)), range(1, 2000))
    // The other was stopped wherever it was: what it printed is a prefix of its count.
    const other = numbersOf(cli, shown("second-counter", "", 14))
    assert.deepStrictEqual(other, range(1, other.length))
    const stdout = cli.linesOf("stdout")
    const headline = stdout.findIndex((line) => line.startsWith(shown("supervisor", "shutdown: ", 14)))
    assert.match(stdout[headline]!, /child quick \(pid \d+\) exited on its own with code 0/)
    assert.deepStrictEqual(
      stdout.slice(headline + 1).map((line) => line.replace(/\(pid \d+\).*/, "")),
      [shown("supervisor", "  child second-counter ", 14), shown("supervisor", "  child quick ", 14)]
    )
  })

  it("no colour when piped, nor with NO_COLOR=1 or FORCE_COLOR=0; colour with FORCE_COLOR=1 (which wins over NO_COLOR)", async () => {
    const runOnce = async (env: Record<string, string>) => {
      const cli = start(["run", "--", "a=echo hi"], { env })
      await assertExit(cli, 1)
      return `${cli.text("stdout")}${cli.text("stderr")}`
    }
    // Independent runs, side by side: each starts in a fraction of a second.
    const plain = [{}, { NO_COLOR: "1" }, { FORCE_COLOR: "0" }]
    const coloured = [{ FORCE_COLOR: "1" }, { FORCE_COLOR: "1", NO_COLOR: "1" }]
    const outputs = await Promise.all([...plain, ...coloured].map(runOnce))
    for (const [i, env] of plain.entries()) {
      assert.include(outputs[i], shown("a", "hi"), JSON.stringify(env))
      assert.notInclude(outputs[i], "\x1b[", JSON.stringify(env))
    }
    for (const [i, env] of coloured.entries()) {
      const output = outputs[plain.length + i]
      // The first process in the first colour of the cycle (cyan), the supervisor in bold.
      assert.include(output, `\x1b[36m${shown("a", "")}\x1b[0mhi`, JSON.stringify(env))
      assert.include(output, `\x1b[1m${shown("supervisor", "")}\x1b[0m`, JSON.stringify(env))
    }
  })

  const scriptUsable = ChildProcess.spawnSync("script", ["-qec", "true", "/dev/null"]).status === 0
  it.skipIf(!scriptUsable)("on a terminal: colour, unless NO_COLOR=1, FORCE_COLOR=0 or TERM=dumb", async () => {
    const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`
    const onTerminal = async (env: Record<string, string>) => {
      const command = [process.execPath, binFromSource, "run", "--", "a=echo hi"].map(quote).join(" ")
      // script(1) runs it on a pseudo-terminal and copies what it wrote.
      const cli = start(["-qec", command, "/dev/null"], { command: ["script"], env: { TERM: "xterm", ...env } })
      await assertExit(cli, 1)
      return cli.text("stdout")
    }
    const plain = [{ NO_COLOR: "1" }, { FORCE_COLOR: "0" }, { TERM: "dumb" }]
    const [coloured, ...outputs] = await Promise.all([{}, ...plain].map(onTerminal))
    assert.include(coloured, `\x1b[36m${shown("a", "")}\x1b[0mhi`)
    for (const [i, env] of plain.entries()) {
      assert.include(outputs[i], shown("a", "hi"), JSON.stringify(env))
      assert.notInclude(outputs[i], "\x1b[", JSON.stringify(env))
    }
  })
})

describe("Procfile habits", () => {
  const portScript = `sh -c 'echo "port=$PORT"; exec sleep 30'`

  it("--scale web=2: web.1 and web.2, PORT per instance (base 5000, 100 per command, 1 per instance)", async () => {
    const cli = start(["run", "--scale", "web=2", "--", `web=${portScript}`, `worker=${portScript}`])
    await cli.waitFor(/\| port=/, { count: 3 })
    cli.kill("SIGTERM")
    await assertExit(cli, 0)
    assert.sameMembers(cli.linesOf("stdout").filter((line) => line.includes("port=")), [
      shown("web.1", "port=5000"),
      shown("web.2", "port=5001"),
      shown("worker", "port=5100")
    ])
    assert.deepStrictEqual(reportOf(cli).slice(1).map((line) => line.match(/child (\S+)/)![1]), ["web.1", "web.2", "worker"])
  })

  it("--port 6000 and a scale of each: the PORTs follow the base", async () => {
    const cli = start(["run", "--port", "6000", "--scale", "web=2,worker=3", "--", `web=${portScript}`, `worker=${portScript}`])
    await cli.waitFor(/\| port=/, { count: 5 })
    cli.kill("SIGTERM")
    await assertExit(cli, 0)
    assert.sameMembers(cli.linesOf("stdout").filter((line) => line.includes("port=")), [
      shown("web.1", "port=6000"),
      shown("web.2", "port=6001"),
      shown("worker.1", "port=6100"),
      shown("worker.2", "port=6101"),
      shown("worker.3", "port=6102")
    ])
  })

  it("--env-file: its values reach the children; of two files the later wins; the instance's PORT beats the file's", async () => {
    // Node 24 loads these files into the supervisor's own environment too (nodejs/node#54232);
    // what is checked is what the children see.
    const first = writeFile("first.env", `# the first\nA=one\nB="two words"\nPORT=1234\n`)
    const second = writeFile("second.env", `export B=second # a comment\nC='literal $x'\n`)
    const cli = start([
      "run",
      "--env-file",
      first,
      "--env-file",
      second,
      "--",
      `show=sh -c 'echo "A=$A B=$B C=$C PORT=$PORT"; exec sleep 30'`
    ])
    const [[line]] = await cli.waitFor(/^show +\| A=.*$/) as [RegExpMatchArray]
    cli.kill("SIGTERM")
    await assertExit(cli, 0)
    assert.strictEqual(line, shown("show", "A=one B=second C=literal $x PORT=5000"))
  })

  it("--stop-signal worker=SIGQUIT: the worker gets SIGQUIT, the others SIGTERM; an instance (web.2) can have its own", async () => {
    const cli = start([
      "run",
      "--scale",
      "web=2",
      "--stop-signal",
      "worker=SIGQUIT",
      "--stop-signal",
      "web.2=hup",
      "--",
      `web=sh ${trappingScript}`,
      `worker=sh ${trappingScript}`
    ])
    await cli.waitFor(/\| up$/, { count: 3 })
    cli.kill("SIGTERM")
    await assertExit(cli, 0)
    assert.sameMembers(cli.linesOf("stdout").filter((line) => line.includes("| got ")), [
      shown("web.1", "got TERM"),
      shown("web.2", "got HUP"),
      shown("worker", "got QUIT")
    ])
  })

  it("a bare --stop-signal SIGINT is every process's default; a named one still wins for its process", async () => {
    const cli = start([
      "run",
      "--stop-signal",
      "SIGINT",
      "--stop-signal",
      "worker=quit",
      "--",
      `web=sh ${trappingScript}`,
      `api=sh ${trappingScript}`,
      `worker=sh ${trappingScript}`
    ])
    await cli.waitFor(/\| up$/, { count: 3 })
    cli.kill("SIGTERM")
    await assertExit(cli, 0)
    assert.sameMembers(cli.linesOf("stdout").filter((line) => line.includes("| got ")), [
      shown("web", "got INT"),
      shown("api", "got INT"),
      shown("worker", "got QUIT")
    ])
  })
})

describe("readiness and health", () => {
  it("--notify with a shell child and --health: /readyz 503 until READY=1 on fd 3, then 200; /livez; /metrics", async () => {
    const port = await freePort()
    const go = gate("notify")
    const cli = start([
      "run",
      "--notify",
      "api",
      "--health",
      `127.0.0.1:${port}`,
      "--",
      `api=sh -c 'echo waiting; read go < ${go.path}; echo READY=1 >&3; echo notified; exec sleep 30'`,
      `other=sh -c 'echo up; exec sleep 30'`
    ])
    await cli.waitFor(/^api +\| waiting$/)
    await cli.waitFor(/^other +\| up$/)
    // The endpoint starts after the children: the first answer may take a few tries.
    assert.deepStrictEqual(await httpGetOnceListening(port, "/livez"), { status: 200, body: "ok: starting\n" })
    assert.deepStrictEqual(await httpGet(port, "/readyz"), { status: 503, body: "not ready: starting\n" })
    const before = await httpGet(port, "/metrics")
    assert.strictEqual(before.status, 200)
    assert.match(before.body, /^supervised_children_alive 2$/m)
    assert.match(before.body, /^supervised_children_ready 1$/m)

    go.release()
    await cli.waitFor(/^api +\| notified$/)
    assert.deepStrictEqual(await httpGetUntil(port, "/readyz", (response) => response.status === 200), { status: 200, body: "ready\n" })
    const after = await httpGet(port, "/metrics")
    assert.match(after.body, /^supervised_children_ready 2$/m)
    assert.match(after.body, /^supervisor_state\{state="ready"\} 1$/m)

    cli.kill("SIGTERM")
    await assertExit(cli, 0)
    assert.match(memberLine(cli, "api"), /stopped in \d+ ms, killed by SIGTERM/)
  })

  it("--start-timeout 300ms and a child that never notifies: exit 1, the report says it was not ready", async () => {
    const cli = start(["run", "--notify", "api", "--start-timeout", "300ms", "--", `api=sh -c 'echo "up $$"; exec sleep 30'`])
    const [[, pid]] = await cli.waitFor(/\| up (\d+)$/) as [RegExpMatchArray]
    await assertExit(cli, 1)
    assertAllGone([Number(pid)])
    assert.match(reportOf(cli)[0]!, /shutdown: start failed: child api \(pid \d+\) was not ready within 300 ms/)
  })
})

describe("--exit-code-from", () => {
  it("exits with that process's own code", async () => {
    const cli = start(["run", "--exit-code-from", "job", "--", "web=sleep 30", `job=sh -c 'exit 7'`])
    await assertExit(cli, 7)
    assert.match(reportOf(cli)[0]!, /child job \(pid \d+\) exited on its own with code 7/)
  })

  it("128 + n when it was killed by signal n", async () => {
    const cli = start(["run", "--exit-code-from", "job", "--", "web=sleep 30", `job=sh -c 'kill -USR1 $$'`])
    await assertExit(cli, 128 + Os.constants.signals.SIGUSR1)
    assert.match(reportOf(cli)[0]!, /child job \(pid \d+\) exited on its own by signal SIGUSR1/)
  })

  it("whatever ended the supervision: after a clean drain, the code of its death by SIGTERM, 143", async () => {
    const cli = start(["run", "--exit-code-from", "web", "--", `web=sh -c 'echo up; exec sleep 30'`])
    await cli.waitFor(/\| up$/)
    cli.kill("SIGTERM")
    await assertExit(cli, 128 + Os.constants.signals.SIGTERM)
  })
})

describe("help and version", () => {
  const packageVersion = (JSON.parse(Fs.readFileSync(`${root}/package.json`, "utf8")) as { version: string }).version

  it("run --help lists every flag of run and the exit codes", async () => {
    const cli = start(["run", "--help"])
    await assertExit(cli, 0)
    const help = cli.text("stdout")
    for (const flag of runFlags) assert.include(help, flag)
    assert.include(help, "EXIT CODES")
    for (const code of ["0", "1", "2", "124"]) assert.match(help, new RegExp(`^ +${code} +\\S`, "m"))
    assert.include(help, "--exit-code-from NAME")
    assert.notInclude(help, "\x1b[", "no colour when piped")
    assert.strictEqual(cli.text("stderr"), "")
  })

  it("--help names the run command and the exit codes", async () => {
    const cli = start(["--help"])
    await assertExit(cli, 0)
    assert.match(cli.text("stdout"), /^ +run +\S/m)
    assert.include(cli.text("stdout"), "EXIT CODES")
  })

  it("--version prints package.json's version", async () => {
    const cli = start(["--version"])
    await assertExit(cli, 0)
    assert.strictEqual(cli.text("stdout"), `${packageVersion}\n`)
  })
})

describe("as PID 1", () => {
  const pid1Warning = /PID 1/
  const unshareUsable = ChildProcess.spawnSync("unshare", ["--pid", "--fork", "--mount-proc", "true"]).status === 0
  const asPid1 = (args: ReadonlyArray<string>) =>
    start(args, { command: ["unshare", "--pid", "--fork", "--mount-proc", process.execPath, binFromSource] })

  it.skipIf(!unshareUsable)("one warning on stderr that names docker run --init and tini", async () => {
    const cli = asPid1(["run", "--", "a=echo hi"])
    await assertExit(cli, 1)
    const warnings = cli.lines().filter((line) => pid1Warning.test(line.text))
    assert.strictEqual(warnings.length, 1, cli.describe())
    assert.strictEqual(warnings[0]!.stream, "stderr")
    assert.match(warnings[0]!.text, /^supervisor \| .*docker run --init.*tini/)
  })

  it.skipIf(!unshareUsable)("none with --no-pid1-warning", async () => {
    const cli = asPid1(["run", "--no-pid1-warning", "--", "a=echo hi"])
    await assertExit(cli, 1)
    assert.include(cli.linesOf("stdout"), shown("a", "hi"))
    assert.notMatch(`${cli.text("stdout")}${cli.text("stderr")}`, pid1Warning)
  })

  it("none when not PID 1", async () => {
    const cli = start(["run", "--", "a=echo hi"])
    await assertExit(cli, 1)
    assert.include(cli.linesOf("stdout"), shown("a", "hi"))
    assert.notMatch(`${cli.text("stdout")}${cli.text("stderr")}`, pid1Warning)
  })
})

describe("cleanupCli, which every test here relies on to leave nothing behind", () => {
  it("kills a supervisor mid-run, its children and theirs, even one in a session of its own", async () => {
    const cli = start([
      "run",
      "--",
      `a=sh -c 'sleep 30 & echo "up $$ $!"; wait'`,
      `b=sh -c 'setsid sleep 30 & echo "up $$ $!"; wait'`
    ])
    const pids = (await cli.waitFor(/\| up (\d+) (\d+)$/, { count: 2 })).flatMap((match) => [Number(match[1]), Number(match[2])])
    cleanupCli()
    assert.deepStrictEqual(await cli.waitForExit(), { code: null, signal: "SIGKILL" })
    // SIGKILL is sure, but not instant: the killed leave as soon as the kernel gets to them.
    const deadline = Date.now() + 5_000
    while (pids.some((pid) => !isGone(pid)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.deepStrictEqual(pids.filter((pid) => !isGone(pid)), [])
  })
})

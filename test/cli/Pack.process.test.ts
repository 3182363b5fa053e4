// The path a user takes: `npm pack`, install the tarball in an empty folder, then run the
// installed `effect-supervise` (the built bundle, run by `#!/usr/bin/env node`). Skipped where
// npm cannot run. The install takes some seconds, from npm's cache when it has the packages.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { type CliProcess, cleanupCli, root, start } from "../helpers/cliProcess.ts"
import { isGone } from "../helpers/processes.ts"

afterEach(cleanupCli)

// This Node first on PATH, so that `#!/usr/bin/env node` (npm's, the bin's) runs it, not another.
const PATH = `${Path.dirname(process.execPath)}${Path.delimiter}${process.env.PATH ?? ""}`
const npmUsable = ChildProcess.spawnSync("npm", ["--version"], { env: { ...process.env, PATH } }).status === 0

const packageJson = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")) as { version: string }

// Generous: a build, a pack and an install from npm's cache (or the registry).
const setupTimeout = 240_000

const run = async (command: ReadonlyArray<string>, cwd: string): Promise<CliProcess> => {
  const process_ = start([], { command, cwd, env: { PATH } })
  const ended = await process_.waitForExit(setupTimeout)
  assert.deepStrictEqual(ended, { code: 0, signal: null }, process_.describe())
  return process_
}

const assertExit = async (cli: CliProcess, code: number) =>
  assert.deepStrictEqual(await cli.waitForExit(), { code, signal: null }, cli.describe())

describe.skipIf(!npmUsable)("the packed package, installed in an empty folder", () => {
  const temp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-supervise-pack-"))
  const packed = Path.join(temp, "packed")
  const app = Path.join(temp, "app")
  const bin = Path.join(app, "node_modules", ".bin", "effect-supervise")

  beforeAll(async () => {
    Fs.mkdirSync(packed)
    Fs.mkdirSync(app)
    await run(["npm", "run", "build"], root)
    const pack = await run(["npm", "pack", "--ignore-scripts", "--json", "--pack-destination", packed], root)
    const [{ filename }] = JSON.parse(pack.text("stdout")) as [{ filename: string }]
    Fs.writeFileSync(Path.join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }))
    await run(["npm", "install", Path.join(packed, filename), "--prefer-offline", "--no-audit", "--no-fund"], app)
  }, setupTimeout)

  afterAll(() => Fs.rmSync(temp, { recursive: true, force: true }))

  let procfiles = 0
  const procfile = (lines: ReadonlyArray<string>) => {
    const path = Path.join(app, `Procfile.${procfiles++}`)
    Fs.writeFileSync(path, `${lines.join("\n")}\n`)
    return path
  }

  it("installs the bin: the built bundle, executable, run by node", () => {
    assert.isTrue(Fs.statSync(bin).isFile())
    Fs.accessSync(bin, Fs.constants.X_OK)
    assert.strictEqual(Fs.realpathSync(bin), Fs.realpathSync(Path.join(app, "node_modules", "effect-supervise", "dist", "bin", "bin.js")))
    assert.match(Fs.readFileSync(bin, "utf8"), /^#!\/usr\/bin\/env node\n/)
  })

  it("npx effect-supervise --help: exit 0, the run command and the exit codes", async () => {
    // --no: the installed one or nothing, never one fetched from the registry; after --, the
    // flags are effect-supervise's, not npx's.
    const cli = start(["--no", "--", "effect-supervise", "--help"], { command: ["npx"], cwd: app, env: { PATH } })
    await assertExit(cli, 0)
    const help = cli.text("stdout")
    assert.match(help, /^ +run +\S/m)
    assert.include(help, "EXIT CODES")
    assert.match(help, /^ +124 +\S/m)
  })

  it("npx effect-supervise --version: package.json's", async () => {
    const cli = start(["--no", "--", "effect-supervise", "--version"], { command: ["npx"], cwd: app, env: { PATH } })
    await assertExit(cli, 0)
    assert.strictEqual(cli.text("stdout"), `${packageJson.version}\n`)
  })

  // Signals go to the installed bin itself: npx does not forward SIGTERM (npm exec dies with
  // 143 and leaves the supervisor behind), so a container's entrypoint is the bin, not npx.
  it("a Procfile of two, run by the installed bin: SIGTERM, both stopped, exit 0, nothing left", async () => {
    const path = procfile([`web: sh -c 'echo "up $$"; exec sleep 30'`, `worker: sh -c 'echo "up $$"; exec sleep 30'`])
    const cli = start(["run", "--procfile", path], { command: [bin], cwd: app, env: { PATH } })
    const pids = (await cli.waitFor(/^(?:web|worker) +\| up (\d+)$/, { count: 2 })).map((match) => Number(match[1]))
    cli.kill("SIGTERM")
    await assertExit(cli, 0)
    assert.deepStrictEqual(pids.filter((pid) => !isGone(pid)), [])
    const stdout = cli.text("stdout")
    assert.match(stdout, /^supervisor \| shutdown: received SIGTERM, shutting down; drained in \d+ ms/m)
    assert.match(stdout, /^supervisor \| {3}child web \(pid \d+\): stopped in \d+ ms, killed by SIGTERM$/m)
    assert.match(stdout, /^supervisor \| {3}child worker \(pid \d+\): stopped in \d+ ms, killed by SIGTERM$/m)
  })

  it("a child that exits 3: exit 1, the report names it and its code", async () => {
    const path = procfile([`web: sh -c 'echo "up $$"; exec sleep 30'`, `failing: sh -c 'exit 3'`])
    const cli = start(["run", "--procfile", path], { command: [bin], cwd: app, env: { PATH } })
    await assertExit(cli, 1)
    const output = `${cli.text("stdout")}${cli.text("stderr")}`
    assert.match(output, /shutdown: child failing \(pid \d+\) exited on its own with code 3/)
    const [, web] = output.match(/child web \(pid (\d+)\): stopped in \d+ ms, killed by SIGTERM/) ?? assert.fail(cli.describe())
    assert.isTrue(isGone(Number(web)))
  })
})

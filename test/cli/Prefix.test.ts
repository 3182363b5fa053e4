// Line prefixes: padded to the longest name (the supervisor's included), coloured only when asked.
import { assert, describe, it } from "vitest"
import * as Prefix from "../../src/cli/Prefix.ts"

describe("Prefix.make", () => {
  it("pads every name, the supervisor's included, to the longest, then ' | '", () => {
    assert.deepStrictEqual(Prefix.make(["api.1", "api.2", "worker"], { colour: false }), {
      byName: { "api.1": "api.1      | ", "api.2": "api.2      | ", worker: "worker     | " },
      supervisor: "supervisor | "
    })
  })

  it("a process name longer than the supervisor's sets the width", () => {
    assert.deepStrictEqual(Prefix.make(["a", "long-worker-name"], { colour: false }), {
      byName: { a: "a                | ", "long-worker-name": "long-worker-name | " },
      supervisor: "supervisor       | "
    })
  })

  it("takes another name for the supervisor's own lines, and works without processes", () => {
    assert.deepStrictEqual(Prefix.make(["api"], { colour: false, supervisorName: "sv" }), { byName: { api: "api | " }, supervisor: "sv  | " })
    assert.deepStrictEqual(Prefix.make([], { colour: false }), { byName: {}, supervisor: "supervisor | " })
  })

  it("in colour, each process takes the next colour of foreman's cycle, and the supervisor's is bold", () => {
    const names = Array.from({ length: 14 }, (_, i) => `p${i}`)
    const prefixes = Prefix.make(names, { colour: true })
    const codes = [36, 33, 32, 35, 31, 34, 96, 93, 92, 95, 91, 94, 36, 33]
    names.forEach((name, i) => assert.strictEqual(prefixes.byName[name], `\x1b[${codes[i]}m${name.padEnd(10)} | \x1b[0m`))
    assert.strictEqual(prefixes.supervisor, "\x1b[1msupervisor | \x1b[0m")
    assert.deepStrictEqual(Prefix.colours, codes.slice(0, 12))
  })

  it("a name such as __proto__ is an own key", () => {
    const prefixes = Prefix.make(["__proto__"], { colour: false })
    assert.isTrue(Object.hasOwn(prefixes.byName, "__proto__"))
    assert.strictEqual(prefixes.byName["__proto__"], "__proto__  | ")
  })
})

describe("Prefix.colourWanted", () => {
  const wanted = (isTTY: boolean, env: Record<string, string | undefined>) => Prefix.colourWanted({ isTTY, env })

  it("colours a terminal only", () => {
    assert.isTrue(wanted(true, {}))
    assert.isTrue(wanted(true, { TERM: "xterm-256color" }))
    assert.isFalse(wanted(false, {}))
  })

  it("NO_COLOR set to anything non-empty turns colour off; empty is ignored", () => {
    assert.isFalse(wanted(true, { NO_COLOR: "1" }))
    assert.isFalse(wanted(true, { NO_COLOR: "0" }))
    assert.isTrue(wanted(true, { NO_COLOR: "" }))
    assert.isTrue(wanted(true, { NO_COLOR: undefined }))
  })

  it("TERM=dumb turns colour off", () => {
    assert.isFalse(wanted(true, { TERM: "dumb" }))
  })

  it("FORCE_COLOR non-empty turns colour on, over a pipe, NO_COLOR and TERM=dumb; 0 and false turn it off", () => {
    for (const force of ["1", "2", "3", "true", "yes"]) {
      assert.isTrue(wanted(false, { FORCE_COLOR: force }), force)
      assert.isTrue(wanted(false, { FORCE_COLOR: force, NO_COLOR: "1", TERM: "dumb" }), force)
    }
    assert.isFalse(wanted(true, { FORCE_COLOR: "0" }))
    assert.isFalse(wanted(true, { FORCE_COLOR: "false" }))
    assert.isFalse(wanted(false, { FORCE_COLOR: "" }))
    assert.isTrue(wanted(true, { FORCE_COLOR: "" }))
  })
})

// The instances to run: names, PORTs as foreman assigns them, scales and name=command arguments.
import { assert, describe, it } from "vitest"
import * as fc from "fast-check"
import * as Result from "effect/Result"
import * as Formation from "../../src/cli/Formation.ts"

const commands = (...names: Array<string>) => names.map((name) => ({ name, command: `run ${name}` }))
const brief = (instances: ReadonlyArray<Formation.Instance>) =>
  instances.map((instance) => `${instance.name} ${instance.type}#${instance.index} ${instance.env.PORT}`)
const formation = (list: ReadonlyArray<Formation.NamedCommand>, options?: Formation.Options) =>
  brief(Result.getOrThrow(Formation.make(list, options)))
const failureOf = <A, E>(result: Result.Result<A, E>): E => {
  assert.isTrue(Result.isFailure(result))
  return Result.isFailure(result) ? result.failure : undefined!
}
const makeError = (list: ReadonlyArray<Formation.NamedCommand>, options?: Formation.Options) =>
  failureOf(Formation.make(list, options)).message

describe("Formation.make", () => {
  it("runs each command once under its own name, PORTs 100 apart from 5000", () => {
    const instances = Result.getOrThrow(Formation.make(commands("api", "worker", "clock")))
    assert.deepStrictEqual(instances[0], { name: "api", type: "api", index: 1, command: "run api", env: { PORT: "5000" } })
    assert.deepStrictEqual(brief(instances), ["api api#1 5000", "worker worker#1 5100", "clock clock#1 5200"])
  })

  it("names the instances of a type scaled above 1 type.n, with consecutive PORTs; 0 runs none but keeps its place", () => {
    assert.deepStrictEqual(formation(commands("api", "worker", "clock"), { scale: { api: 2, worker: 0, clock: 3 } }), [
      "api.1 api#1 5000",
      "api.2 api#2 5001",
      "clock.1 clock#1 5200",
      "clock.2 clock#2 5201",
      "clock.3 clock#3 5202"
    ])
    assert.deepStrictEqual(formation(commands("api"), { scale: { api: 1 } }), ["api api#1 5000"])
  })

  it("takes another PORT base and step", () => {
    assert.deepStrictEqual(formation(commands("a", "b"), { scale: { b: 2 }, portBase: 3000, portStep: 10 }), [
      "a a#1 3000",
      "b.1 b#1 3010",
      "b.2 b#2 3011"
    ])
    assert.deepStrictEqual(formation(commands("a"), { portBase: 65535, portStep: 0 }), ["a a#1 65535"])
  })

  it("keeps the command as given, of any type", () => {
    const instances = Result.getOrThrow(Formation.make([{ name: "api", command: ["node", "api.js"] }], { scale: { api: 2 } }))
    assert.deepStrictEqual(instances.map((instance) => instance.command), [["node", "api.js"], ["node", "api.js"]])
  })

  it("a name such as constructor or __proto__ is an ordinary name, in commands and in the scale", () => {
    const scale = Result.getOrThrow(Formation.parseScale("__proto__=2"))
    assert.deepStrictEqual(formation(commands("constructor", "__proto__"), { scale }), [
      "constructor constructor#1 5000",
      "__proto__.1 __proto__#1 5100",
      "__proto__.2 __proto__#2 5101"
    ])
  })

  it("a duplicate name is an error naming both positions", () => {
    assert.strictEqual(makeError(commands("api", "worker", "api")), `The name "api" is given twice: commands 1 and 3`)
    assert.strictEqual(failureOf(Formation.make(commands("a", "a")))._tag, "FormationError")
  })

  it("an unknown name or a bad count in the scale is an error", () => {
    assert.strictEqual(
      makeError(commands("api", "worker"), { scale: { apii: 2 } }),
      `Cannot scale "apii": no command has that name (the commands are api, worker)`
    )
    assert.strictEqual(makeError(commands("api"), { scale: { toString: 2 } }), `Cannot scale "toString": no command has that name (the commands are api)`)
    for (const count of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.strictEqual(makeError(commands("api"), { scale: { api: count } }), `The scale of api must be a whole number, 0 or more; got ${count}`)
    }
  })

  it("a bad PORT base or step is an error", () => {
    for (const base of [0, 65536, 1.5, -1]) {
      assert.strictEqual(makeError(commands("a"), { portBase: base }), `The port base must be a whole number from 1 to 65535; got ${base}`)
    }
    for (const step of [-1, 0.5]) {
      assert.strictEqual(makeError(commands("a"), { portStep: step }), `The port step must be a whole number, 0 or more; got ${step}`)
    }
  })

  it("a PORT above 65535 is an error, at once however large the scale", () => {
    assert.strictEqual(
      makeError(commands("a", "b"), { portBase: 65500 }),
      "PORT 65600 for b is above 65535: lower the port base (65500), the port step (100) or the scale"
    )
    assert.strictEqual(
      makeError(commands("a"), { scale: { a: 1e12 } }),
      "PORT 1000000004999 for a.1000000000000 is above 65535: lower the port base (5000), the port step (100) or the scale"
    )
    // A type scaled to 0 needs no PORT.
    assert.deepStrictEqual(formation(commands("a", "b"), { portBase: 65500, scale: { b: 0 } }), ["a a#1 65500"])
  })

  it("a PORT shared by two instances is an error naming both", () => {
    assert.strictEqual(
      makeError(commands("api", "worker"), { scale: { api: 101 } }),
      "PORT 5100 would go to both api.101 and worker: raise the port step (100) above the largest scale"
    )
    assert.strictEqual(
      makeError(commands("a", "b"), { portStep: 0 }),
      "PORT 5000 would go to both a and b: raise the port step (0) above the largest scale"
    )
  })

  it("nothing to run is an error", () => {
    assert.strictEqual(makeError([]), "No command to run")
    assert.strictEqual(makeError(commands("a", "b"), { scale: { a: 0, b: 0 } }), "Every command is scaled to 0: nothing to run")
  })

  it("whatever succeeds has unique names and unique PORTs, in range", () => {
    let succeeded = 0
    const names = fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), { minLength: 1, maxLength: 6 })
    fc.assert(
      fc.property(
        names,
        fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 6, maxLength: 6 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.integer({ min: 0, max: 150 }),
        (types, counts, portBase, portStep) => {
          const scale = Object.fromEntries(types.map((type, i) => [type, counts[i]!]))
          const result = Formation.make(commands(...types), { scale, portBase, portStep })
          if (Result.isFailure(result)) return
          const instances = result.success
          succeeded++
          assert.strictEqual(new Set(instances.map((instance) => instance.name)).size, instances.length)
          assert.strictEqual(new Set(instances.map((instance) => instance.env.PORT)).size, instances.length)
          assert.strictEqual(instances.length, counts.slice(0, types.length).reduce((a, b) => a + b, 0))
          for (const instance of instances) {
            assert.isAtMost(Number(instance.env.PORT), 65535)
            assert.isAtLeast(Number(instance.env.PORT), 1)
          }
        }
      ),
      { numRuns: 300 }
    )
    // Not vacuous: a good share of the formations are valid.
    assert.isAtLeast(succeeded, 50)
  })
})

describe("Formation.parseScale", () => {
  const scaleError = (input: string | ReadonlyArray<string>) => failureOf(Formation.parseScale(input)).message

  it("reads name=count, comma-separated or repeated; the later count wins", () => {
    assert.deepStrictEqual(Result.getOrThrow(Formation.parseScale("api=2")), { api: 2 })
    assert.deepStrictEqual(Result.getOrThrow(Formation.parseScale(" api = 2 , worker=3,clock=0")), { api: 2, worker: 3, clock: 0 })
    assert.deepStrictEqual(Result.getOrThrow(Formation.parseScale(["api=2", "worker=03", "api=4"])), { api: 4, worker: 3 })
    assert.deepStrictEqual(Result.getOrThrow(Formation.parseScale([])), {})
  })

  it("a missing =, a bad name or a bad count is an error quoting the argument", () => {
    assert.strictEqual(scaleError("api"), `Invalid scale "api": expected name=count, such as api=2, got "api"`)
    assert.strictEqual(scaleError("api=2,"), `Invalid scale "api=2,": expected name=count, such as api=2, got ""`)
    assert.strictEqual(scaleError(["a=1", "b=2,c"]), `Invalid scale "b=2,c": expected name=count, such as api=2, got "c"`)
    assert.strictEqual(scaleError("=2"), `Invalid scale "=2": bad name "": a name may contain only letters, digits, "_" and "-"`)
    assert.strictEqual(scaleError("api.1=2"), `Invalid scale "api.1=2": bad name "api.1": a name may contain only letters, digits, "_" and "-"`)
    for (const count of ["two", "-1", "1.5", "", "+2", "99999999999999999999"]) {
      assert.strictEqual(
        scaleError(`api=${count}`),
        `Invalid scale "api=${count}": the count of api must be a whole number, 0 or more; got ${JSON.stringify(count)}`
      )
    }
  })
})

describe("Formation.parseNamedCommand", () => {
  const named = (input: string) => Result.getOrThrow(Formation.parseNamedCommand(input))
  const namedError = (input: string) => failureOf(Formation.parseNamedCommand(input))

  it("splits at the first =, trimming both sides", () => {
    assert.deepStrictEqual(named("api=node api.js --port 8080"), { name: "api", command: "node api.js --port 8080" })
    assert.deepStrictEqual(named(" worker-2 =  node w.js --x=1 "), { name: "worker-2", command: "node w.js --x=1" })
    assert.deepStrictEqual(named("env=FOO=1 node"), { name: "env", command: "FOO=1 node" })
  })

  it("a command without a name is an error showing the form to use", () => {
    const error = namedError("node worker.js")
    assert.strictEqual(error._tag, "NamedCommandError")
    assert.strictEqual(error.message, `Invalid command "node worker.js": it has no name: write it as name=command, such as "app=node worker.js"`)
    assert.strictEqual(
      namedError("node api.js --port=8080").message,
      `Invalid command "node api.js --port=8080": it has no name: write it as name=command, such as "app=node api.js --port=8080"`
    )
  })

  it("an empty name, a bad name or an empty command is an error", () => {
    assert.strictEqual(namedError("=node a.js").message, `Invalid command "=node a.js": the name before "=" is empty`)
    assert.strictEqual(namedError("api.1=node").message, `Invalid command "api.1=node": bad name "api.1": a name may contain only letters, digits, "_" and "-"`)
    assert.strictEqual(namedError("api=  ").message, `Invalid command "api=  ": api has no command after "="`)
  })

  it("isName accepts letters, digits, _ and -", () => {
    for (const name of ["a", "API_2", "x-y", "0"]) assert.isTrue(Formation.isName(name), name)
    for (const name of ["", "a.b", "a b", "é", "a:b", "a="]) assert.isFalse(Formation.isName(name), name)
  })
})

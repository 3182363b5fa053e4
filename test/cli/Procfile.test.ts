// A Procfile as foreman and honcho read it, and every malformed line named by its number.
import { assert, describe, it } from "vitest"
import * as Result from "effect/Result"
import * as Procfile from "../../src/cli/Procfile.ts"

const entries = (text: string) => Result.getOrThrow(Procfile.parse(text, "Procfile"))
const failure = (text: string) => {
  const result = Procfile.parse(text, "./Procfile")
  assert.isTrue(Result.isFailure(result), JSON.stringify(text))
  return Result.isFailure(result) ? result.failure : undefined!
}
const message = (text: string) => failure(text).message

describe("Procfile.parse", () => {
  it("reads name: command lines in order, with their line numbers", () => {
    assert.deepStrictEqual(entries("api: node api.js --port 8080\nworker: node worker.js\n"), [
      { name: "api", command: "node api.js --port 8080", line: 1 },
      { name: "worker", command: "node worker.js", line: 2 }
    ])
  })

  it("skips comments and blank lines, trims the line, the name and the command; numbers count every line", () => {
    const text = [
      "# the web tier",
      "",
      "   ",
      "  web:   bundle exec puma   ",
      "\t# indented comment",
      "worker_2 : sidekiq -q a:b",
      "clock-1:x"
    ].join("\n")
    assert.deepStrictEqual(entries(text), [
      { name: "web", command: "bundle exec puma", line: 4 },
      { name: "worker_2", command: "sidekiq -q a:b", line: 6 },
      { name: "clock-1", command: "x", line: 7 }
    ])
  })

  it("tolerates CRLF line endings, a byte order mark and no final newline", () => {
    assert.deepStrictEqual(entries("\uFEFFapi: node a.js\r\n\r\n# c\r\nworker: node w.js"), [
      { name: "api", command: "node a.js", line: 1 },
      { name: "worker", command: "node w.js", line: 4 }
    ])
  })

  it("keeps the command as written: the first colon ends the name, a # inside the command stays", () => {
    assert.deepStrictEqual(entries("api: node -e 'a:b' # not a comment"), [
      { name: "api", command: "node -e 'a:b' # not a comment", line: 1 }
    ])
  })

  it("a name such as __proto__ or constructor is an ordinary name", () => {
    assert.deepStrictEqual(entries("__proto__: a\nconstructor: b").map((entry) => entry.name), ["__proto__", "constructor"])
  })

  it("a line without a colon is an error quoting it, with its number", () => {
    assert.strictEqual(
      message("api: a\n\nnode server.js\n"),
      `Procfile ./Procfile, line 3: expected "name: command", got "node server.js"`
    )
  })

  it("an empty name is an error", () => {
    assert.strictEqual(message("# x\n : node a.js"), `Procfile ./Procfile, line 2: no name before ":" in ": node a.js"`)
  })

  it("a bad name is an error quoting the name and the line", () => {
    assert.strictEqual(
      message("web app: node a.js"),
      `Procfile ./Procfile, line 1: bad name "web app" in "web app: node a.js": a name may contain only letters, digits, "_" and "-"`
    )
    assert.strictEqual(
      message("a\r\napi.1: node a.js\r\n"),
      `Procfile ./Procfile, line 1: expected "name: command", got "a"`
    )
    assert.strictEqual(
      message("api: x\r\napi.1: node a.js\r\n"),
      `Procfile ./Procfile, line 2: bad name "api.1" in "api.1: node a.js": a name may contain only letters, digits, "_" and "-"`
    )
  })

  it("an empty command is an error", () => {
    assert.strictEqual(message("api: node a.js\nworker:   \n"), `Procfile ./Procfile, line 2: worker has no command after ":"`)
  })

  it("a duplicate name is an error naming both lines", () => {
    const error = failure("api: a\nworker: b\n\napi: c\n")
    assert.strictEqual(error.message, "Procfile ./Procfile, line 4: the name api is already used on line 1")
    assert.strictEqual(error._tag, "ProcfileError")
    assert.strictEqual(error.path, "./Procfile")
    assert.strictEqual(error.line, 4)
  })

  it("a Procfile without entries is an error without a line", () => {
    for (const text of ["", "\n\n", "# only\n# comments\r\n", "\uFEFF"]) {
      const error = failure(text)
      assert.strictEqual(error.message, `Procfile ./Procfile: no processes: expected lines "name: command"`)
      assert.isUndefined(error.line)
    }
  })

  it("the error can be made for an unreadable file", () => {
    assert.strictEqual(
      new Procfile.ProcfileError({ path: "Procfile", reason: "cannot be read (ENOENT)" }).message,
      "Procfile Procfile: cannot be read (ENOENT)"
    )
  })
})

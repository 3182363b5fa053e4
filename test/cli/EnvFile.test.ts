// Env files in the dotenv format: values as foreman, honcho and Compose read them, and errors by line.
import { assert, describe, it } from "vitest"
import * as Result from "effect/Result"
import * as EnvFile from "../../src/cli/EnvFile.ts"

const variables = (text: string) => Result.getOrThrow(EnvFile.parse(text, ".env"))
const message = (text: string) => {
  const result = EnvFile.parse(text, ".env")
  assert.isTrue(Result.isFailure(result), JSON.stringify(text))
  return Result.isFailure(result) ? result.failure.message : ""
}

describe("EnvFile.parse", () => {
  it("reads KEY=value lines, skipping comments and blank lines", () => {
    assert.deepStrictEqual(variables("# settings\n\nA=1\n  B=two words  \n\t# c\n_c9=x\n"), {
      A: "1",
      B: "two words",
      _c9: "x"
    })
  })

  it("allows export and spaces around =; an empty value is empty", () => {
    assert.deepStrictEqual(variables("export A=1\nexport\tB = 2\nC=\nD= \nexportE=3\nexport=4"), {
      A: "1",
      B: "2",
      C: "",
      D: "",
      exportE: "3",
      export: "4"
    })
  })

  it("an unquoted value ends at a # after a blank; a # elsewhere is kept", () => {
    assert.deepStrictEqual(variables("A=a #note\nB=b\t# note\nC=#fff\nD=x#y\nE= # only a comment\nF=it's \"ok\""), {
      A: "a",
      B: "b",
      C: "#fff",
      D: "x#y",
      E: "",
      F: "it's \"ok\""
    })
  })

  it("single quotes are literal", () => {
    assert.deepStrictEqual(variables("A='a #b \\n $HOME \"c\"'\nB=''\nC=  ' padded '  # comment\nD='x'#c"), {
      A: "a #b \\n $HOME \"c\"",
      B: "",
      C: " padded ",
      D: "x"
    })
  })

  it("double quotes read \\n \\r \\t \\\" \\\\ and keep other backslashes", () => {
    assert.deepStrictEqual(variables(String.raw`A="line1\nline2\ttab\r\"q\" \\ \$x \w # in"   # out` + "\nB=\"\""), {
      A: "line1\nline2\ttab\r\"q\" \\ \\$x \\w # in",
      B: ""
    })
  })

  it("tolerates CRLF and a byte order mark; the later of two values wins", () => {
    assert.deepStrictEqual(variables("\uFEFFA=1\r\nB=\"x\"\r\nA=2 \r\n"), { A: "2", B: "x" })
  })

  it("a key such as __proto__ is an own property", () => {
    const result = variables("__proto__=x\nconstructor=y")
    assert.isTrue(Object.hasOwn(result, "__proto__"))
    assert.strictEqual(result["__proto__"], "x")
    assert.strictEqual(result["constructor"], "y")
    assert.deepStrictEqual(Object.keys(result), ["__proto__", "constructor"])
  })

  it("a line without = is an error quoting it, with its number", () => {
    assert.strictEqual(message("A=1\n\nexport B\n"), `Env file .env, line 3: expected KEY=value, got "export B"`)
  })

  it("an empty or bad key is an error", () => {
    assert.strictEqual(message("=1"), `Env file .env, line 1: no name before "=" in "=1"`)
    assert.strictEqual(message("A=1\r\n1A=x"), `Env file .env, line 2: bad name "1A": a name starts with a letter or "_" and has only letters, digits and "_"`)
    assert.strictEqual(message("MY-VAR=x"), `Env file .env, line 1: bad name "MY-VAR": a name starts with a letter or "_" and has only letters, digits and "_"`)
  })

  it("an unclosed quote is an error: values do not span lines", () => {
    assert.strictEqual(message("A='abc\ndef'"), "Env file .env, line 1: the single quote of A is not closed on this line")
    assert.strictEqual(message("A=1\nB=\"abc\\\"\n"), "Env file .env, line 2: the double quote of B is not closed on this line")
    assert.strictEqual(message("B=\"abc\\"), "Env file .env, line 1: the double quote of B is not closed on this line")
  })

  it("text after the closing quote is an error", () => {
    assert.strictEqual(message("A='a'b"), `Env file .env, line 1: unexpected text after the closing quote of A: "b"`)
    assert.strictEqual(message("A=\"a\" b c # d"), `Env file .env, line 1: unexpected text after the closing quote of A: "b c # d"`)
  })

  it("the error can be made for an unreadable file", () => {
    assert.strictEqual(new EnvFile.EnvFileError({ path: ".env", reason: "cannot be read (EACCES)" }).message, "Env file .env: cannot be read (EACCES)")
  })
})

// Commands split into argv without a shell, by CommandLine.template's word rules; shell syntax refused.
import { assert, describe, it } from "vitest"
import * as fc from "fast-check"
import * as CommandLine from "effect/process/CommandLine"
import * as Result from "effect/Result"
import * as Words from "../../src/cli/Words.ts"

const words = (command: string) => Result.getOrThrow(Words.split(command))
const failure = (command: string) => {
  const result = Words.split(command)
  assert.isTrue(Result.isFailure(result), JSON.stringify(command))
  return Result.isFailure(result) ? result.failure : undefined!
}

describe("Words.split", () => {
  it("splits on blanks: spaces, tabs, line breaks", () => {
    assert.deepStrictEqual(words("node api.js --port 8080"), ["node", "api.js", "--port", "8080"])
    assert.deepStrictEqual(words("  node\tapi.js \n --x=1  "), ["node", "api.js", "--x=1"])
  })

  it("single quotes are literal, backslashes and all", () => {
    assert.deepStrictEqual(words(String.raw`echo 'a b' 'c\d' '$HOME' 'x|y' '' e`), ["echo", "a b", String.raw`c\d`, "$HOME", "x|y", "", "e"])
  })

  it("double quotes read \\\" \\\\ \\$ \\` and keep other backslashes", () => {
    assert.deepStrictEqual(words(String.raw`echo "a \"b\" \\ \$x \` \n" "" "c d"e`), ["echo", String.raw`a "b" \ $x ` + "` " + String.raw`\n`, "", "c de"])
  })

  it("a backslash outside quotes escapes the next character; a backslash-newline joins lines", () => {
    assert.deepStrictEqual(words(String.raw`echo a\ b \| \$HOME \\`), ["echo", "a b", "|", "$HOME", "\\"])
    assert.deepStrictEqual(words("node \\\n  api.js"), ["node", "api.js"])
  })

  it("passes what needs no shell: = inside a word, a lone $, # inside a word, a lone }", () => {
    assert.deepStrictEqual(words("node --port=8080 $ a#b } x~"), ["node", "--port=8080", "$", "a#b", "}", "x~"])
  })

  it("a carriage return is not a blank (Procfile and EnvFile strip CRLF before)", () => {
    assert.deepStrictEqual(words("a\r b"), ["a\r", "b"])
  })

  it("an empty command is an error", () => {
    for (const command of ["", "   ", "\n\t"]) {
      const error = failure(command)
      assert.strictEqual(error.reason, "Empty")
      assert.strictEqual(error.message, "The command is empty: give the program to run and its arguments")
    }
  })

  it("an unterminated quote, a trailing backslash or a NUL is an error quoting the command", () => {
    assert.strictEqual(failure(`echo "abc`).message, `Cannot split the command "echo \\"abc": the quote is not closed`)
    assert.strictEqual(failure(`echo 'a' 'b`).reason, "UnterminatedQuote")
    assert.strictEqual(failure("echo a\\").message, `Cannot split the command "echo a\\\\": a trailing backslash escapes nothing`)
    assert.strictEqual(failure("echo a\\").reason, "InvalidEscape")
    const nul = failure("echo a\0b")
    assert.strictEqual(nul.reason, "NulCharacter")
    assert.strictEqual(nul.message, `Cannot split the command "echo a\\u0000b": it contains a NUL character, which no argument can carry`)
  })

  it("shell syntax is an error that says which and suggests --shell", () => {
    const cases: Array<[string, string]> = [
      ["node a.js | tee log", `the operator "|" needs a shell`],
      ["a && b", `the operator "&" needs a shell`],
      ["a; b", `the operator ";" needs a shell`],
      ["a > out", `the operator ">" needs a shell`],
      ["a < in", `the operator "<" needs a shell`],
      ["a (b)", `the operator "(" needs a shell`],
      ["echo $(date)", `the expansion "$(" needs a shell`],
      ["echo `date`", "command substitution needs a shell"],
      ["rails s -p $PORT", `the expansion "$P" needs a shell`],
      [`echo "$HOME"`, `the expansion "$H" needs a shell`],
      ["echo ${X}", `the expansion "\${" needs a shell`],
      ["rm *.tmp", `the glob character "*" needs a shell`],
      ["curl http://x/?a=1", `the glob character "?" needs a shell`],
      ["cat ~/.profile", "tilde expansion needs a shell"],
      ["node a.js # comment", "a comment needs a shell"],
      ["echo {a,b}", "brace expansion needs a shell"],
      ["echo =x", `a leading "=" is expanded by zsh`],
      ["PORT=3000 node a.js", "a variable assignment needs a shell"]
    ]
    for (const [command, detail] of cases) {
      const error = failure(command)
      assert.strictEqual(error.reason, "NeedsShell", command)
      assert.strictEqual(error._tag, "InvalidCommandError")
      assert.strictEqual(
        error.message,
        `The command ${JSON.stringify(command)} cannot run without a shell: ${detail}. Add --shell to run it through one, or quote the character to pass it literally`
      )
      assert.isTrue(Words.isShellSyntax(command), command)
    }
  })

  it("quoted shell syntax is literal", () => {
    assert.deepStrictEqual(words(`sh -c 'a | b && c; echo $HOME > f' "*" \\~ '#'`), ["sh", "-c", "a | b && c; echo $HOME > f", "*", "~", "#"])
  })

  it("any words joined by CommandLine.join come back the same", () => {
    // Shell syntax, quotes and blanks often, reserved words (quoted by join as a program), any other
    // character sometimes; no NUL, which no argument carries.
    const special = fc.constantFrom(..."ab |&;<>()$`\\\"' \t\n\r*?[]{}~#=,.-")
    const word = fc.oneof(
      fc.constantFrom("if", "time", "!", "{", "=x", "A=1", ""),
      fc.string({ unit: special, maxLength: 12 }),
      fc.string({ unit: "binary", maxLength: 12 }).filter((word) => !word.includes("\0"))
    )
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), (input) => {
        assert.deepStrictEqual(words(Result.getOrThrow(CommandLine.join(input))), input)
      }),
      { numRuns: 500 }
    )
  })
})

describe("Words.isShellSyntax", () => {
  it("is false for plain commands, quoted syntax, and errors that are not shell syntax", () => {
    for (const command of ["node a.js", "echo 'a | b'", "echo \"x\" \\;", "", "echo 'a", "echo a\\", "echo $"]) {
      assert.isFalse(Words.isShellSyntax(command), command)
    }
  })
})

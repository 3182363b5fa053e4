// The framer's exact output bytes: what a reader of the supervisor's stdout sees.
import { assert, describe, it } from "vitest"
import * as fc from "fast-check"
import * as PrefixedLines from "../src/PrefixedLines.ts"

const bytes = (text: string) => new Uint8Array(Buffer.from(text, "latin1"))
const concat = (pieces: ReadonlyArray<Uint8Array>) => new Uint8Array(Buffer.concat(pieces))
const text = (pieces: ReadonlyArray<Uint8Array>) => Buffer.concat(pieces).toString("latin1")

/** Pushes each chunk, then ends; returns everything written, as latin1 text (one char per byte). */
const frame = (prefix: string, cap: number | undefined, chunks: ReadonlyArray<string>): string => {
  const framer = PrefixedLines.make(bytes(prefix), cap)
  return text([...chunks.flatMap((chunk) => framer.push(bytes(chunk))), ...framer.end()])
}

/**
 * What the framer must write for `input`, however it is cut into chunks: each
 * line (ended by `\n`, or the last one if not empty) cut into pieces of at most
 * `cap` bytes, each piece written as prefix + piece + `\n`. A line that is a
 * multiple of the cap gives exactly that many pieces (no empty one after).
 */
const expected = (prefix: Uint8Array, cap: number, input: Uint8Array): Uint8Array => {
  const out: Array<Uint8Array> = []
  const newline = Uint8Array.of(0x0a)
  const emitLine = (line: Uint8Array) => {
    if (line.length === 0) return void out.push(prefix, newline)
    for (let offset = 0; offset < line.length; offset += cap) out.push(prefix, line.subarray(offset, offset + cap), newline)
  }
  let start = 0
  for (let index = input.indexOf(0x0a); index !== -1; index = input.indexOf(0x0a, start)) {
    emitLine(input.subarray(start, index))
    start = index + 1
  }
  if (start < input.length) emitLine(input.subarray(start))
  return concat(out)
}

describe("PrefixedLines", () => {
  it("a line split across chunks comes out whole, once its newline arrives", () => {
    const framer = PrefixedLines.make(bytes("[api] "))
    assert.deepStrictEqual(framer.push(bytes("hel")), [], "a partial line writes nothing")
    assert.deepStrictEqual(framer.push(bytes("lo wo")), [])
    assert.strictEqual(text(framer.push(bytes("rld\nnext"))), "[api] hello world\n")
    assert.strictEqual(text(framer.push(bytes(" line\n"))), "[api] next line\n")
    assert.deepStrictEqual(framer.end(), [])
  })

  it("several lines in one chunk, empty lines included, each get the prefix", () => {
    assert.strictEqual(frame("> ", undefined, ["one\ntwo\n\nthree\n"]), "> one\n> two\n> \n> three\n")
  })

  it("a chunk of short lines is framed as one buffer; a long line stays a slice of its chunk", () => {
    const framer = PrefixedLines.make(bytes("[yes] "))
    const short = framer.push(bytes("y\n".repeat(10_000)))
    assert.strictEqual(short.length, 1, "not a piece per line")
    assert.strictEqual(text(short), "[yes] y\n".repeat(10_000))
    const long = bytes(`${"x".repeat(1000)}\n`)
    const pieces = framer.push(long)
    assert.strictEqual(text(pieces), `[yes] ${"x".repeat(1000)}\n`)
    assert.isTrue(pieces.some((piece) => piece.buffer === long.buffer), "the long line is not copied")
  })

  it("passes bytes through undecoded: \\r and invalid UTF-8 reach the output unchanged", () => {
    const framer = PrefixedLines.make(bytes("p|"))
    const chunk = Uint8Array.of(0x61, 0x0d, 0xff, 0xfe, 0x0d, 0x0a, 0xc3, 0x0d, 0x0a)
    assert.deepStrictEqual(
      concat(framer.push(chunk)),
      Uint8Array.of(0x70, 0x7c, 0x61, 0x0d, 0xff, 0xfe, 0x0d, 0x0a, 0x70, 0x7c, 0xc3, 0x0d, 0x0a)
    )
  })

  it("a line of exactly the cap is kept whole; one byte over is split into the cap and the rest", () => {
    assert.strictEqual(frame("#", 4, ["abcd\n"]), "#abcd\n")
    assert.strictEqual(frame("#", 4, ["abcde\n"]), "#abcd\n#e\n")
    assert.strictEqual(frame("#", 4, ["ab", "cd\n"]), "#abcd\n", "the cap reached with the newline in the same chunk")
    assert.strictEqual(frame("#", 4, ["abcdefgh\n"]), "#abcd\n#efgh\n", "twice the cap: two pieces, no empty third")
  })

  it("at the default cap of 64 KiB: exactly the cap is one line, one byte more is two", () => {
    const cap = PrefixedLines.defaultMaxLineBytes
    assert.strictEqual(cap, 65_536)
    const whole = frame("P", undefined, ["x".repeat(cap) + "\n"])
    assert.strictEqual(whole, "P" + "x".repeat(cap) + "\n")
    const over = frame("P", undefined, ["x".repeat(cap) + "y\n"])
    assert.strictEqual(over, "P" + "x".repeat(cap) + "\nPy\n")
  })

  it("a line far over the cap (3.5 x), in chunks of odd sizes, comes out in pieces of the cap", () => {
    const cap = 8
    const line = "0123456789abcdefghijklmnopqr" // 28 bytes = 3.5 x cap
    const framer = PrefixedLines.make(bytes("> "), cap)
    const out: Array<Uint8Array> = []
    let offset = 0
    for (const size of [3, 5, 7, 1, 11]) {
      out.push(...framer.push(bytes(line.slice(offset, offset + size))))
      offset += size
    }
    out.push(...framer.push(bytes(line.slice(offset) + "\n")))
    assert.strictEqual(text(out), "> 01234567\n> 89abcdef\n> ghijklmn\n> opqr\n")
    // Memory stays bounded: the pieces are emitted as soon as the cap is reached, before the newline.
    const early = PrefixedLines.make(bytes("> "), cap)
    assert.strictEqual(text(early.push(bytes(line))), "> 01234567\n> 89abcdef\n> ghijklmn\n")
    assert.strictEqual(text(early.end()), "> opqr\n")
  })

  it("end() writes a trailing partial line with a newline; with nothing pending it writes nothing", () => {
    const framer = PrefixedLines.make(bytes("[w] "))
    assert.strictEqual(text(framer.push(bytes("done\nno newline"))), "[w] done\n")
    assert.strictEqual(text(framer.end()), "[w] no newline\n")
    assert.deepStrictEqual(framer.end(), [], "the pending line is written once")
    assert.deepStrictEqual(PrefixedLines.make(bytes("[w] ")).end(), [])
  })

  it("an empty chunk writes nothing and keeps the pending line", () => {
    const framer = PrefixedLines.make(bytes("[w] "))
    assert.deepStrictEqual(framer.push(new Uint8Array(0)), [])
    assert.deepStrictEqual(framer.push(bytes("ab")), [])
    assert.deepStrictEqual(framer.push(new Uint8Array(0)), [])
    assert.strictEqual(text(framer.push(bytes("c\n"))), "[w] abc\n")
  })

  it("a prefix of zero bytes leaves the lines as they were", () => {
    assert.strictEqual(frame("", 4, ["a\nbc", "defg\n", "h"]), "a\nbcde\nfg\nh\n")
  })

  it("a pending line is copied: the producer may reuse its chunk once push returned", () => {
    const framer = PrefixedLines.make(bytes("> "))
    const chunk = bytes("abc")
    assert.deepStrictEqual(framer.push(chunk), [])
    chunk.fill(0x7a) // "zzz"
    assert.strictEqual(text(framer.push(bytes("\n"))), "> abc\n")
  })

  // The same bytes in one chunk or two must frame the same: a line of exactly the cap waits for its newline.
  it("a line of exactly the cap whose newline comes in the next chunk gives no extra empty line", () => {
    assert.strictEqual(frame("#", 4, ["abcd", "\nx\n"]), "#abcd\n#x\n")
  })

  it("property: the output is the input's lines cut at the cap, whatever the chunking, and never aliases a pending chunk", () => {
    const cap = fc.integer({ min: 1, max: 12 })
    // Bytes rich in newlines, \r and invalid UTF-8, so lines of every length around the cap occur.
    const byte = fc.oneof(
      { weight: 2, arbitrary: fc.constant(0x0a) },
      { weight: 1, arbitrary: fc.constantFrom(0x0d, 0xff, 0xfe, 0x00) },
      { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }
    )
    const input = fc.array(byte, { maxLength: 80 }).map((array) => Uint8Array.from(array))
    const cuts = fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 12 })
    const prefix = fc.uint8Array({ maxLength: 4 })
    fc.assert(
      fc.property(cap, input, cuts, prefix, (cap, input, cuts, prefix) => {
        const points = [...new Set(cuts.map((cut) => Math.min(cut, input.length)))].sort((a, b) => a - b)
        const framer = PrefixedLines.make(prefix, cap)
        const written: Array<Uint8Array> = []
        let from = 0
        for (const to of [...points, input.length]) {
          const chunk = input.slice(from, to)
          // What is written is taken at once (copied), as a stream's write does...
          written.push(concat(framer.push(chunk)))
          // ...then the producer reuses its buffer: nothing written later may change.
          chunk.fill(0x58)
          from = to
        }
        written.push(concat(framer.end()))
        const output = concat(written)
        assert.deepStrictEqual(output, expected(prefix, cap, input))
        // Each written line is the prefix, at most `cap` bytes without a newline, and a newline.
        let at = 0
        while (at < output.length) {
          assert.deepStrictEqual(output.subarray(at, at + prefix.length), prefix)
          const end = output.indexOf(0x0a, at + prefix.length)
          assert.isAtMost(end - at - prefix.length, cap)
          at = end + 1
        }
      }),
      { numRuns: 500 }
    )
  })
})

/**
 * Cuts a byte stream into lines and puts a prefix in front of each, without
 * decoding: bytes pass through exactly (invalid UTF-8, `\r` and all). Only
 * `\n` ends a line. A line longer than the cap is split into pieces of the
 * cap, so memory stays bounded whatever the child writes; a last line without
 * `\n` gets one at the end. The framed output is to be written as one
 * vectored write: long lines as slices of the input and the prefix, no copy;
 * a run of short lines copied into one buffer, cheaper than a slice per line.
 *
 * @since 0.2.0
 */

/**
 * The longest line kept whole: 64 KiB.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultMaxLineBytes = 64 * 1024

// Lines shorter than this are copied, with their prefixes, into one buffer per run of them;
// longer ones are passed on as slices of the input.
const copyBelowBytes = 256

const newline = 0x0a
const newlineBytes = Uint8Array.of(newline)

/**
 * @since 0.2.0
 * @category models
 */
export interface Framer {
  /** The framed pieces for a chunk (none when the chunk only extends a pending line). */
  readonly push: (chunk: Uint8Array) => Array<Uint8Array>
  /** The pending partial line, framed, at the end of the stream. */
  readonly end: () => Array<Uint8Array>
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const make = (prefix: Uint8Array, maxLineBytes: number = defaultMaxLineBytes): Framer => {
  // The partial line so far: at most maxLineBytes bytes, in the chunks it came in.
  let pending: Array<Uint8Array> = []
  let pendingBytes = 0

  const emitLine = (out: Array<Uint8Array>, last: Uint8Array) => {
    out.push(prefix, ...pending)
    if (last.length > 0) out.push(last)
    out.push(newlineBytes)
    pending = []
    pendingBytes = 0
  }

  // Adds bytes without a newline to the pending line, emitting pieces of the cap while more than
  // the cap is pending: a line of exactly the cap waits for its newline, wherever that comes.
  const extend = (out: Array<Uint8Array>, bytes: Uint8Array) => {
    let offset = 0
    while (pendingBytes + bytes.length - offset > maxLineBytes) {
      const take = maxLineBytes - pendingBytes
      emitLine(out, bytes.subarray(offset, offset + take))
      offset += take
    }
    // Something is always left (at most the cap): a copy, as the producer may reuse its chunk.
    pending.push(new Uint8Array(bytes.subarray(offset)))
    pendingBytes += bytes.length - offset
  }

  const prefixBuffer = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.length)

  return {
    push: (chunk) => {
      const out: Array<Uint8Array> = []
      const source = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)
      // Short whole lines of this chunk, in a row, as start and end offsets: copied out as one
      // buffer, since a chunk of short lines would otherwise be tens of thousands of slices.
      const run: Array<number> = []
      let runBytes = 0
      const flushRun = () => {
        if (run.length === 0) return
        const framed = Buffer.allocUnsafe(runBytes)
        let offset = 0
        for (let pair = 0; pair < run.length; pair += 2) {
          offset += prefixBuffer.copy(framed, offset)
          offset += source.copy(framed, offset, run[pair], run[pair + 1])
          framed[offset++] = newline
        }
        out.push(framed)
        run.length = 0
        runBytes = 0
      }
      let start = 0
      for (let index = source.indexOf(newline); index !== -1; index = source.indexOf(newline, start)) {
        const length = index - start
        if (pendingBytes === 0 && length < copyBelowBytes && length <= maxLineBytes) {
          run.push(start, index)
          runBytes += prefix.length + length + 1
        } else {
          flushRun()
          const line = chunk.subarray(start, index)
          if (pendingBytes + line.length > maxLineBytes) {
            extend(out, line)
            // What is left of the line: at least one byte, at most the cap.
            emitLine(out, new Uint8Array(0))
          } else {
            emitLine(out, line)
          }
        }
        start = index + 1
      }
      flushRun()
      if (start < chunk.length) extend(out, chunk.subarray(start))
      return out
    },
    end: () => {
      const out: Array<Uint8Array> = []
      if (pendingBytes > 0) emitLine(out, new Uint8Array(0))
      return out
    }
  }
}

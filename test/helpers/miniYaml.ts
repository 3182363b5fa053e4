// Just enough YAML for the deploy manifest: `---` documents, block maps and lists (indented
// or not under their key), `- key: value` items, plain and quoted scalars, `{}` and `[]`,
// comments. Anything else (flow collections, anchors, multi-line strings) is an error, so
// the test cannot misread the manifest silently.
export type Yaml = string | number | boolean | null | Array<Yaml> | { [key: string]: Yaml }

interface Line {
  readonly indent: number
  readonly text: string
  readonly number: number
}

const scalar = (text: string, line: Line): Yaml => {
  if (/^"[^"\\]*"$/.test(text) || /^'[^']*'$/.test(text)) return text.slice(1, -1)
  if (text === "{}") return {}
  if (text === "[]") return []
  if (/^[[{&*!|>"']/.test(text)) throw new Error(`line ${line.number}: unsupported YAML: ${text}`)
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text)
  if (text === "true" || text === "false") return text === "true"
  if (text === "null" || text === "~") return null
  return text
}

// A comment starts with # at the start or after a space; the manifest has no # in its values.
const stripComment = (text: string) => text.replace(/(^|\s)#.*$/, "").trimEnd()

const isItem = (text: string) => text === "-" || text.startsWith("- ")

const parseDocument = (text: string, firstLine: number): Yaml => {
  const lines: Array<Line> = []
  text.split("\n").forEach((raw, index) => {
    const stripped = stripComment(raw)
    if (stripped.trim() === "") return
    if (/^\s*\t/.test(stripped)) throw new Error(`line ${firstLine + index}: a tab in the indentation`)
    lines.push({ indent: stripped.length - stripped.trimStart().length, text: stripped.trim(), number: firstLine + index })
  })
  let at = 0

  const block = (indent: number): Yaml => (isItem(lines[at].text) ? list(indent) : map(indent))

  const map = (indent: number): { [key: string]: Yaml } => {
    const result: { [key: string]: Yaml } = {}
    while (at < lines.length && lines[at].indent === indent && !isItem(lines[at].text)) {
      const line = lines[at++]
      const match = /^([^:\s][^:]*):(?:\s+(.*))?$/.exec(line.text)
      if (match === null) throw new Error(`line ${line.number}: expected "key: value": ${line.text}`)
      const [, key, rest] = match
      if (key in result) throw new Error(`line ${line.number}: ${key} twice`)
      const next = lines[at]
      result[key] = rest !== undefined
        ? scalar(rest, line)
        : next !== undefined && (next.indent > indent || (next.indent === indent && isItem(next.text)))
        ? block(next.indent)
        : null
    }
    return result
  }

  const list = (indent: number): Array<Yaml> => {
    const result: Array<Yaml> = []
    while (at < lines.length && lines[at].indent === indent && isItem(lines[at].text)) {
      const line = lines[at]
      const rest = line.text.slice(1).trimStart()
      if (rest === "") {
        at++
        result.push(block(lines[at].indent))
      } else if (/^[^:\s"'][^:]*:(\s|$)/.test(rest)) {
        // `- key: value` opens a map whose keys line up with `key`.
        lines[at] = { indent: indent + line.text.length - rest.length, text: rest, number: line.number }
        result.push(map(lines[at].indent))
      } else {
        at++
        result.push(scalar(rest, line))
      }
    }
    return result
  }

  if (lines.length === 0) return null
  const document = block(lines[0].indent)
  if (at < lines.length) throw new Error(`line ${lines[at].number}: unexpected indentation: ${lines[at].text}`)
  return document
}

/** The documents of a YAML stream, empty ones left out. */
export const parseAll = (text: string): Array<Yaml> => {
  const documents: Array<Yaml> = []
  let firstLine = 1
  for (const part of text.split(/^---[ \t]*$/m)) {
    const document = parseDocument(part, firstLine)
    if (document !== null) documents.push(document)
    firstLine += part.split("\n").length - 1
  }
  return documents
}

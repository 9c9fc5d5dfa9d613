// Scores raw suite results with the suite's own determineTestResult(), so our counts are the
// suite's. Started by bench/conformance.py:
//   node score.mjs --suite=DIR --scorer=REL --tests=REL[,REL...] [--published] NAME=results.json...
// Prints {"version", "tests": [...], "runs": {NAME: {id: outcome}}, "published": [...]}.
import fs from 'node:fs'
import path from 'node:path'
import process from 'node:process'
import { pathToFileURL } from 'node:url'

const options = Object.fromEntries(
  process.argv.slice(2).filter(a => a.startsWith('--')).map(a => a.slice(2).split(/=(.*)/s))
)
const root = path.resolve(options.suite)
const load = async relative => await import(pathToFileURL(path.join(root, relative)).href)
const { determineTestResult } = await load(options.scorer)
// The suites the suite's CLI runs (0.4.5's cli.mjs adds surrogate-control to the index).
const suites = []
for (const module of options.tests.split(',')) {
  const loaded = (await load(module)).default
  suites.push(...(Array.isArray(loaded) ? loaded : [loaded]))
}
const OUTCOMES = {
  '✅': 'pass', '⛔️': 'fail', '⚠️': 'optional_fail', Y: 'yes', N: 'no', '🔹': 'setup_fail',
  '⁉️': 'harness_fail', '⚪️': 'dependency_fail', '↻': 'retry', '-': 'untested'
}

const tests = []
for (const suite of suites) {
  for (const test of suite.tests) {
    if (test.browser_only === true) continue // a shared cache never runs these
    tests.push({
      id: test.id,
      suite: suite.id,
      suite_name: suite.name,
      name: test.name,
      kind: test.kind || 'required',
      depends_on: test.depends_on || []
    })
  }
}

function score (results) {
  const out = {}
  for (const test of tests) {
    const symbol = determineTestResult(suites, test.id, results)[2]
    const raw = results[test.id]
    out[test.id] = {
      outcome: OUTCOMES[symbol] || symbol,
      error: Array.isArray(raw) ? String(raw[0]) : null,
      message: Array.isArray(raw) ? String(raw[1]) : null
    }
  }
  return out
}

const runs = {}
for (const arg of process.argv.slice(2).filter(a => !a.startsWith('--'))) {
  const [name, file] = arg.split(/=(.*)/s)
  runs[name] = score(JSON.parse(fs.readFileSync(file, 'utf8')))
}
const published = []
if ('published' in options) {
  for (const entry of (await load('results/index.mjs')).default) {
    if (entry.type === 'browser') continue
    const results = JSON.parse(fs.readFileSync(path.join(root, 'results', entry.file), 'utf8'))
    published.push({
      name: entry.name, version: entry.version, type: entry.type, results: score(results)
    })
  }
}
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version
process.stdout.write(JSON.stringify({ version, tests, runs, published }))

// The suite's test origin, bound to 127.0.0.1 only (the suite's server listens on every
// interface, and our rule is loopback only). Started by bench/conformance.py:
//   node origin.mjs --suite=DIR --server=REL --port=N --pidfile=PATH
import http from 'node:http'
import path from 'node:path'
import process from 'node:process'
import { pathToFileURL } from 'node:url'

const args = Object.fromEntries(
  process.argv.slice(2).map(a => a.replace(/^--/, '').split(/=(.*)/s).slice(0, 2))
)
if (!/^\d+$/.test(args.port || '') || !args.pidfile || !args.suite || !args.server) {
  console.error('usage: node origin.mjs --suite=DIR --server=REL --port=N --pidfile=PATH')
  process.exit(2)
}
// The server reads its settings the way `npm run server --port=N` passes them.
process.env.npm_config_protocol = 'http'
process.env.npm_config_port = args.port
process.env.npm_config_pidfile = path.resolve(args.pidfile)

// Every listen() of this process goes to loopback, whatever host (or none) the caller gave.
const listen = http.Server.prototype.listen
http.Server.prototype.listen = function (...params) {
  const options = typeof params[0] === 'object' && params[0] !== null
    ? { ...params[0], host: '127.0.0.1' }
    : { port: Number(params[0]), host: '127.0.0.1' }
  const callback = params.find(p => typeof p === 'function')
  return callback ? listen.call(this, options, callback) : listen.call(this, options)
}

// The server serves static files from its working directory: the suite's own, never ours.
const root = path.resolve(args.suite)
process.chdir(root)
await import(pathToFileURL(path.join(root, args.server)).href)

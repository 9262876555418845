// One-shot PouchDB pulls into a memory database, timed and counted, for
// bench/replication.sh. Modes:
//   copy SRC DST       copies SRC's documents (ids, revs, bodies) into
//                      the CouchDB database DST with new_edits=false
//   pull ROUNDS A=URL[@PID] B=URL[@PID] ...
//                      ROUNDS rounds, each pulling every source once (the
//                      order rotates per round); prints one JSON line per
//                      pull: source, ms, requests, docs, server
//                      CPU ms (from /proc/PID/stat when PID is given)
// PouchDB comes from clients/node_modules (CLIENTS, default ../clients).
// AUTH, when set, is sent to the changegate sources (URLs with /buckets/).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(process.env.CLIENTS || path.join(here, '..', 'clients'), 'package.json'))
const PouchDB = require('pouchdb-core')
PouchDB.plugin(require('pouchdb-adapter-http')).plugin(require('pouchdb-adapter-memory')).plugin(require('pouchdb-replication'))
const AUTH = process.env.AUTH

// cpuMs is a process's user+system CPU time in ms.
function cpuMs (pid) {
  if (!pid) return 0
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) * 10
}

async function copy (src, dst) {
  const res = await fetch(`${src}/_all_docs?include_docs=true`, { headers: AUTH ? { Authorization: AUTH } : {} })
  assert.equal(res.status, 200)
  const docs = (await res.json()).rows.map(r => {
    const [start, id] = r.doc._rev.split('-')
    return { ...r.doc, _revisions: { start: Number(start), ids: [id] } }
  })
  for (let i = 0; i < docs.length; i += 1000) {
    const put = await fetch(`${dst}/_bulk_docs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ docs: docs.slice(i, i + 1000), new_edits: false })
    })
    assert.ok(put.status < 300, `bulk_docs: ${put.status}`)
  }
  console.error(`copied ${docs.length} docs`)
}

async function pull (name, url, pid, round) {
  const stats = { requests: 0 }
  const remote = new PouchDB(url, {
    fetch: async (u, opts) => {
      if (AUTH && url.includes('/buckets/')) opts.headers.set('Authorization', AUTH)
      stats.requests++
      return PouchDB.fetch(u, opts)
    }
  })
  const local = new PouchDB(`${name}-${round}`, { adapter: 'memory' })
  const cpu0 = cpuMs(pid)
  const t0 = performance.now()
  const res = await local.replicate.from(remote)
  const ms = performance.now() - t0
  const cpu = cpuMs(pid) - cpu0
  assert.equal(res.ok, true)
  const docs = (await local.info()).doc_count
  await local.destroy()
  console.log(JSON.stringify({ source: name, round, ms: Math.round(ms), requests: stats.requests, docs, server_cpu_ms: cpu }))
}

const [mode, ...args] = process.argv.slice(2)
if (mode === 'copy') {
  await copy(args[0], args[1])
} else if (mode === 'pull') {
  const rounds = Number(args[0])
  const sources = args.slice(1).map(a => {
    const [name, rest] = a.split(/=(.*)/s)
    const [url, pid] = rest.split('@')
    return { name, url, pid }
  })
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < sources.length; i++) {
      const s = sources[(round + i) % sources.length]
      await pull(s.name, s.url, s.pid, round)
    }
  }
} else {
  throw new Error('usage: replication-pull.mjs copy SRC DST | pull ROUNDS NAME=URL[@PID]...')
}

// PouchDB's HTTP adapter: GET {db}/ (setup and info), a one-shot
// changes() and a live one, which long-polls with heartbeat=10000.
import assert from 'node:assert/strict'
import PouchDB from 'pouchdb-core'
import HTTP from 'pouchdb-adapter-http'
import { DB, put, within } from './common.mjs'

PouchDB.plugin(HTTP)
const db = new PouchDB(DB)

const a = await put('a')
const info = await db.info()
assert.equal(info.update_seq, String(a))
const once = await db.changes({ since: 0, include_docs: true })
assert.deepEqual(once.results.map(r => [r.id, r.doc._id, r.doc.title]), [['a', 'a', 'a']])
assert.equal(once.last_seq, String(a))
console.log('ok changes', once.last_seq)

const seen = []
const live = db.changes({ live: true, since: 'now' })
const got = within(5000, 'live changes', new Promise((resolve, reject) => {
  live.on('change', c => { seen.push(c.id); if (c.id === 'c') resolve() })
  live.on('error', reject)
}))
await new Promise(resolve => setTimeout(resolve, 300))
await put('b')
await put('c')
await got
live.cancel()
assert.deepEqual(seen, ['b', 'c'])
console.log('ok live changes')

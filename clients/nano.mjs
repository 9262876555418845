// nano's db.changes and changesReader (POST longpoll, since=now,
// timeout=60000) against a changegate collection.
import assert from 'node:assert/strict'
import Nano from 'nano'
import { DB, put, within } from './common.mjs'

// The server URL has a path (/v1/buckets/main/collections): parseUrl
// false keeps nano from taking its last segment for a database.
const slash = DB.lastIndexOf('/')
const db = Nano({ url: DB.slice(0, slash), parseUrl: false }).use(DB.slice(slash + 1))

const a = await put('a')
const b = await put('b')
const all = await db.changes({ since: 0 })
assert.deepEqual(all.results.map(r => [r.id, r.seq]), [['a', String(a)], ['b', String(b)]])
assert.equal(all.last_seq, String(b))
assert.equal(all.pending, 0)
// A record's first version is its generation 1.
assert.match(all.results[0].changes[0].rev, /^1-[0-9a-f]{32}$/)
const one = await db.changes({ since: all.results[0].seq, include_docs: true })
assert.deepEqual(one.results.map(r => [r.id, r.doc._id, r.doc.title]), [['b', 'b', 'b']])
console.log('ok db.changes')

// changesReader starts at since=now: only what is written afterwards.
const reader = db.changesReader.start({ batchSize: 10 })
const seen = []
const errors = []
reader.on('error', err => errors.push(err))
const got = new Promise(resolve => reader.on('change', c => { seen.push(c.id); if (c.id === 'd') resolve() }))
await new Promise(resolve => setTimeout(resolve, 300)) // the first longpoll is parked
const c = await put('c')
const d = await put('d')
await within(5000, 'changesReader', got)
db.changesReader.stop()
assert.deepEqual(seen, ['c', 'd'])
assert.deepEqual(errors, [])
console.log(`ok changesReader ${c} ${d}`)

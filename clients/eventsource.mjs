// The eventsource package: live events, then a reconnection (the feed
// ends at its timeout) resuming with Last-Event-ID, without a repeat.
import assert from 'node:assert/strict'
import { EventSource } from 'eventsource'
import { DB, put, within } from './common.mjs'

const a = await put('a')
const es = new EventSource(`${DB}/_changes?feed=eventsource&timeout=500`)
const ids = []
const lastIDs = []
let wrote = false
const done = within(10000, 'eventsource', new Promise((resolve, reject) => {
  es.onmessage = ev => {
    const row = JSON.parse(ev.data)
    ids.push(row.id)
    lastIDs.push(ev.lastEventId)
    if (row.id === 'c') resolve()
  }
  es.onerror = async () => {
    // The stream ended at its timeout: write while the client waits
    // to reconnect, so only Last-Event-ID can keep a and b out.
    if (wrote) return
    wrote = true
    try { await put('b'); await put('c') } catch (err) { reject(err) }
  }
}))
await done
es.close()
assert.deepEqual(ids, ['a', 'b', 'c'])
assert.equal(lastIDs[0], `"${a}"`)
console.log('ok eventsource resume', lastIDs.join(' '))

const hb = new EventSource(`${DB}/_changes?feed=eventsource&since=now&heartbeat=50`)
await within(3000, 'heartbeat event', new Promise(resolve => hb.addEventListener('heartbeat', resolve)))
hb.close()
console.log('ok eventsource heartbeat')

// Helpers shared by the client scripts. Each script reads DB (the
// collection URL, used as a CouchDB database URL) and AUTH (the
// Authorization header that may write to it), prints "ok" lines and
// exits non-zero on the first failure.
import assert from 'node:assert/strict'

export const DB = process.env.DB
export const AUTH = process.env.AUTH
assert.ok(DB && AUTH, 'DB and AUTH must be set')

// put writes record id through the Kinto API and returns its
// last_modified.
export async function put (id) {
  const res = await fetch(`${DB}/records/${id}`, {
    method: 'PUT',
    headers: { Authorization: AUTH, 'Content-Type': 'application/json' },
    body: JSON.stringify({ data: { title: id } })
  })
  assert.ok(res.status < 300, `PUT ${id}: ${res.status}`)
  return (await res.json()).data.last_modified
}

// within rejects when promise takes longer than ms.
export function within (ms, what, promise) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms) })
  ])
}

export function sleep (ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

// Kring interop test client: one y-websocket peer driven by a JSON argument.
//
//   node tests/js/yclient.mjs '{"url": "ws://127.0.0.1:PORT/ws/CONF", "room": "plan", ...}'
//
// See tests/js/README.md for the argument and output contract. Exit codes:
//   0 done ({"text", "synced": true, "saved_acks", ...} on stdout)
//   2 timeout ({"error": "timeout", "text", "stage"})
//   3 server closed the socket with code >= 4000 or 1002-1011 ({"closed": {"code", "reason"}})
//   4 bad argument, 1 unexpected exception ({"error": ..., "message": ...})
//
// The libraries are loaded from web/node_modules (installed by `cd web && npm ci`), all through
// CommonJS require so that y-websocket, y-protocols and this script share one Yjs instance.

import { createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web')
const require = createRequire(resolve(webDir, 'package.json'))

const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const syncProtocol = require('y-protocols/sync')
const authProtocol = require('y-protocols/auth')
const encoding = require('lib0/encoding')
const decoding = require('lib0/decoding')
const WebSocket = require('ws')

const MESSAGE_SYNC = 0
const MESSAGE_AUTH = 2
const MESSAGE_SAVED = 100 // Kring: payload is a varUint8Array with the committed state vector
const QUIET_MS = 300
const POLL_MS = 10

let finished = false
let provider = null

const emit = (stream, obj) => {
  stream.write(JSON.stringify(obj) + '\n')
}

/** Print one JSON line on stdout, tear the provider down and exit with `code`. */
const finish = (code, obj) => {
  if (finished) return
  finished = true
  let sock = null
  try {
    if (provider) {
      sock = provider.ws
      provider.destroy() // also stops any reconnect: shouldConnect = false
    }
  } catch (_) { /* best effort */ }
  let exited = false
  const exit = () => {
    if (exited) return
    exited = true
    process.stdout.write(JSON.stringify(obj) + '\n', () => process.exit(code))
  }
  // give the closing handshake a moment so the server sees a clean close, bounded
  if (sock && sock.readyState !== WebSocket.CLOSED && typeof sock.once === 'function') {
    sock.once('close', exit)
    setTimeout(exit, 300)
  } else {
    exit()
  }
}

process.on('uncaughtException', (err) => {
  finish(1, { error: 'exception', message: String(err && err.stack ? err.stack : err) })
})
process.on('unhandledRejection', (err) => {
  finish(1, { error: 'exception', message: String(err && err.stack ? err.stack : err) })
})

// ---------------------------------------------------------------------------------- arguments

let args
try {
  if (process.argv.length !== 3) throw new Error('expected exactly one argument: a JSON object')
  args = JSON.parse(process.argv[2])
  if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new Error('argument must be a JSON object')
  if (typeof args.url !== 'string' || !args.url) throw new Error('"url" must be a non-empty string')
  if (typeof args.room !== 'string') throw new Error('"room" must be a string')
} catch (err) {
  finish(4, { error: 'bad-args', message: String(err.message || err) })
}

const strList = (v, name) => {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    finish(4, { error: 'bad-args', message: `"${name}" must be a list of strings` })
    return []
  }
  return v
}

const url = args?.url
const room = args?.room
const cookie = typeof args?.cookie === 'string' ? args.cookie : ''
const origin = typeof args?.origin === 'string' ? args.origin : ''
const params = {}
for (const [k, v] of Object.entries(args?.params || {})) params[k] = String(v)
const textName = typeof args?.text === 'string' ? args.text : 'interop'
const inserts = strList(args?.inserts, 'inserts')
const expect = strList(args?.expect, 'expect')
const timeoutMs = Number.isFinite(args?.timeout_ms) ? args.timeout_ms : 10000
const minSavedAcks = Number.isFinite(args?.min_saved_acks) ? args.min_saved_acks : 0

// ---------------------------------------------------------------------------------- state

const doc = new Y.Doc()
const ytext = doc.getText(textName)
let stage = 'connecting'
let lastUpdateAt = Date.now()
let step2Count = 0 // sync step 2 messages received from the server
let savedAcks = 0
let lastSavedSV = null // Map<clientID, clock> from the last "saved" message
let lastError = '' // message of the last websocket error (e.g. "Unexpected server response: 403")

doc.on('update', () => { lastUpdateAt = Date.now() })

const deadline = Date.now() + timeoutMs
setTimeout(() => {
  finish(2, { error: 'timeout', text: ytext.toString(), stage, saved_acks: savedAcks })
}, timeoutMs)

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Poll `pred` until true; never returns after the deadline (the global timer exits first). */
const waitFor = async (pred) => {
  while (!finished) {
    if (pred()) return
    if (Date.now() > deadline) await new Promise(() => {}) // let the global timer fire
    await sleep(POLL_MS)
  }
  await new Promise(() => {})
}

// ---------------------------------------------------------------------------------- websocket

class KringWebSocket extends WebSocket {
  constructor (address, protocols) {
    const headers = {}
    if (cookie) headers.Cookie = cookie
    const opts = { headers }
    if (origin) opts.origin = origin // ws sends it as the Origin header
    super(address, protocols, opts)
    this.on('error', (err) => { lastError = String(err && err.message ? err.message : err) })
  }
}

const isTerminalClose = (code) => code >= 4000 || (code >= 1002 && code <= 1011)

if (!finished) {
  provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: KringWebSocket,
    params,
    disableBc: true,
    connect: false,
    // only reconnect on "harmless" closes (1000, 1001, 1005, ...): the rest ends this client
    shouldReconnect: (event) => !isTerminalClose(event.code)
  })

  // --- messageHandlers: (encoder, decoder, provider, emitSynced, messageType) => void.
  // The decoder is positioned after the message type varUint. Whatever a handler writes into
  // `encoder` is sent back to the server if it is longer than 1 byte.

  const origSync = provider.messageHandlers[MESSAGE_SYNC]
  provider.messageHandlers[MESSAGE_SYNC] = (encoder, decoder, prov, emitSynced, messageType) => {
    const syncType = decoding.readVarUint(decoding.clone(decoder))
    origSync(encoder, decoder, prov, emitSynced, messageType)
    if (syncType === syncProtocol.messageYjsSyncStep2) step2Count++
  }

  // the stock auth handler only console.warn()s through a module-private function
  provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder, prov) => {
    authProtocol.readAuthMessage(decoder, prov.doc, (_ydoc, reason) => {
      emit(process.stderr, { denied: reason })
    })
  }

  provider.messageHandlers[MESSAGE_SAVED] = (_encoder, decoder) => {
    const sv = decoding.readVarUint8Array(decoder)
    savedAcks++
    try {
      lastSavedSV = Y.decodeStateVector(sv)
    } catch (err) {
      emit(process.stderr, { saved_decode_error: String(err.message || err) })
    }
  }

  provider.on('connection-close', (event) => {
    // event is null when we closed the socket ourselves
    if (event && isTerminalClose(event.code)) {
      let reason = event.reason || ''
      if (!reason && lastError) reason = lastError
      const closed = { code: event.code, reason }
      const m = /Unexpected server response: (\d+)/.exec(lastError)
      if (m) closed.http_status = Number(m[1])
      finish(3, { closed })
    }
  })
  provider.on('connection-error', () => { /* recorded in KringWebSocket; avoid unhandled errors */ })

  provider.connect()
  run().catch((err) => finish(1, { error: 'exception', message: String(err && err.stack ? err.stack : err) }))
}

// ---------------------------------------------------------------------------------- scenario

/** Positions in the text that do not split any occurrence of a string we care about. */
const safePositions = (text, known) => {
  const bad = new Set()
  for (const k of known) {
    if (!k) continue
    for (let i = text.indexOf(k); i !== -1; i = text.indexOf(k, i + 1)) {
      for (let p = i + 1; p < i + k.length; p++) bad.add(p)
    }
  }
  const ok = []
  for (let p = 0; p <= text.length; p++) if (!bad.has(p)) ok.push(p)
  return ok
}

const wsOpen = () => provider.ws !== null && provider.wsconnected && provider.ws.readyState === WebSocket.OPEN

async function run () {
  stage = 'sync'
  await waitFor(() => provider.synced)

  stage = 'inserts'
  const known = inserts.concat(expect)
  for (const s of inserts) {
    await sleep(Math.floor(Math.random() * 21))
    const positions = safePositions(ytext.toString(), known)
    const pos = positions[Math.floor(Math.random() * positions.length)]
    doc.transact(() => { ytext.insert(pos, s) })
  }

  // Barrier: the server answers our sync step 1 with a sync step 2 only after it has handled
  // the updates we sent before it on the same socket.
  stage = 'echo'
  for (;;) {
    await waitFor(() => provider.synced && wsOpen())
    const before = step2Count
    const ws = provider.ws
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_SYNC)
    syncProtocol.writeSyncStep1(encoder, doc)
    ws.send(encoding.toUint8Array(encoder))
    await waitFor(() => step2Count > before || provider.ws !== ws)
    if (step2Count > before && provider.ws === ws) break
    // socket was replaced (reconnect) before the answer: do it again on the new one
  }

  stage = 'converge'
  const want = inserts.concat(expect)
  await waitFor(() => {
    const t = ytext.toString()
    return want.every((s) => t.includes(s)) &&
      savedAcks >= minSavedAcks &&
      provider.synced &&
      Date.now() - lastUpdateAt >= QUIET_MS
  })

  let savedCoversLocal = null
  if (lastSavedSV) {
    const local = Y.decodeStateVector(Y.encodeStateVector(doc)).get(doc.clientID) || 0
    savedCoversLocal = (lastSavedSV.get(doc.clientID) || 0) >= local
  }
  stage = 'done'
  finish(0, {
    text: ytext.toString(),
    synced: true,
    saved_acks: savedAcks,
    saved_covers_local: savedCoversLocal,
    client_id: doc.clientID
  })
}

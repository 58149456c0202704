// One live document in the browser: the Y.Doc, its copy on this device (IndexedDB), its
// connection to Kring (y-websocket), and the truth about where an edit is.
//
// The y-websocket protocol has no acknowledgement, so "saved" comes from the server: a device
// that opens with ?saved=1 gets one "saved" message (type 100) per update message it sent, once
// that update is on the server's disk (server/rooms/room.py), plus one when it joins. Counting
// the update messages this device sent on the current connection against the "saved" messages
// it got tells whether every edit is on disk, deletions included. No timer decides it.
//
// The server decides who may read or write (rooms/phases.py); this page only mirrors it:
// - 4001 (the phase took access away) and 4403 (refused): stop, and say why.
// - "read only" (an auth message): the server dropped this device's edits; the local copy is
//   discarded and the page reloads to show what the server has.

import * as Y from "yjs";
import * as decoding from "lib0/decoding";
import { WebsocketProvider } from "y-websocket";
import { IndexeddbPersistence } from "y-indexeddb";
import { t } from "./i18n.js";
import { LOCAL_PREFIX, forgetOffline } from "./device.js";
import { lockAll } from "./textfield.js";

const FINAL_CODES = new Set([4001, 4403]);
const MESSAGE_AUTH = 2;
const MESSAGE_SAVED = 100;

export const LOCAL = "kring-local"; // the origin of edits this page makes outside an editor

// The name of this device's copy of a document, per person: on a shared tablet one person's
// offline edits are never sent (and refused, and discarded) under another person's access.
// "Forget this device" deletes all of them.
export const localName = (conference, name, person) =>
  `${LOCAL_PREFIX}${conference}:${name}:${person}`;

// A colour another device announces for its cursor goes into a style attribute: only plain
// colours, nothing that could restyle the page.
const COLOUR = /^(#[0-9a-f]{3,8}|hsl\(\d{1,3}, \d{1,3}%, \d{1,3}%\)(33)?)$/i;

function sanitisePresence(awareness) {
  for (const [client, state] of awareness.getStates()) {
    const user = state?.user;
    if (client === awareness.clientID || !user || typeof user !== "object") continue;
    if (typeof user.name !== "string") user.name = "?";
    if (typeof user.color !== "string" || !COLOUR.test(user.color)) user.color = "#535d68";
    if (typeof user.colorLight !== "string" || !COLOUR.test(user.colorLight))
      user.colorLight = `${user.color}33`;
  }
}

function isUpdateMessage(data) {
  // varUint(0 = sync) followed by varUint(1 = step 2) or varUint(2 = update)
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return bytes.length > 1 && bytes[0] === 0 && (bytes[1] === 1 || bytes[1] === 2);
}

export class LiveDocument {
  /**
   * @param {{conference: string, name: string, person: string, writable: boolean,
   *          keepLocal?: boolean, onState?: (live: LiveDocument) => void}} options
   * keepLocal: false keeps no copy on this device (a shared screen that only shows a document).
   * view: "present" for the presentation view, which the server lets read by its own row of
   * the permission table (and closes when the meeting goes back to private time).
   */
  constructor({
    conference,
    name,
    person,
    writable,
    keepLocal = true,
    view = "",
    onState = () => {},
  }) {
    this.conference = conference;
    this.name = name;
    this.person = person;
    this.writable = writable;
    this.onState = onState;
    this.doc = new Y.Doc();
    this.state = "connecting";
    this.closedReason = "";
    this.loaded = false; // the device's copy is read
    // Per connection: update messages sent, "saved" answers received (the join one excluded).
    this.sent = 0;
    this.acked = 0;
    this.joined = false;
    this.unsent = false; // edits made while no connection was open

    this.local = keepLocal
      ? new IndexeddbPersistence(localName(conference, name, person), this.doc)
      : null;
    // What this device kept is applied with the copy as origin: while a connection is open it
    // goes out as an update (and is counted), while none is it counts as unsent (below).
    if (this.local) {
      this.local.on("synced", () => {
        this.loaded = true;
        this.update();
      });
    } else {
      this.loaded = true;
    }

    const live = this;
    class CountingSocket extends WebSocket {
      constructor(url, protocols) {
        super(url, protocols);
        live.sent = 0;
        live.acked = 0;
        live.joined = false;
      }

      send(data) {
        if (isUpdateMessage(data)) {
          live.sent += 1;
          // The handshake's sync step 2 carries everything this device has that the server lacks.
          if (new Uint8Array(data)[1] === 1) live.unsent = false;
        }
        super.send(data);
      }
    }

    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    this.provider = new WebsocketProvider(
      `${scheme}://${window.location.host}/ws/${conference}`,
      name,
      this.doc,
      {
        disableBc: true, // tabs must not exchange edits around the server's checks
        params: view ? { saved: "1", view } : { saved: "1" },
        WebSocketPolyfill: CountingSocket,
        shouldReconnect: (event) => !FINAL_CODES.has(event.code),
      },
    );
    this.provider.messageHandlers[MESSAGE_SAVED] = (_encoder, decoder) => {
      decoding.readVarUint8Array(decoder); // the committed state vector; the count is what matters
      if (this.joined) this.acked += 1;
      else this.joined = true;
      this.update();
    };
    this.provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
      decoding.readVarUint(decoder);
      decoding.readVarString(decoder);
      this.discard();
    };
    // Registered before any editor exists, so no view draws a colour before it is checked.
    this.provider.awareness.on("change", () => sanitisePresence(this.provider.awareness));
    this.provider.on("status", () => this.update());
    // A connection that ends with edits sent but not acknowledged: they are not known to be
    // on the server; the next handshake carries them again.
    this.provider.on("connection-close", () => {
      if (this.sent > this.acked) this.unsent = true;
      this.update();
    });
    this.provider.on("sync", () => this.update());
    this.provider.on("closed", ({ code, reason }) => {
      this.closedReason = reason || t("status.closed");
      lockAll();
      this.update();
      window.kringLiveClosed = (window.kringLiveClosed || 0) + 1;
      if (FINAL_CODES.has(code)) this.forget();
    });
    this.doc.on("update", (_update, origin) => {
      // y-websocket sends only on an open socket; anything else waits for the next handshake.
      const open = this.provider.wsconnected && this.provider.ws?.readyState === WebSocket.OPEN;
      if (origin !== this.provider && !open) this.unsent = true;
      queueMicrotask(() => this.update());
    });
    this.update();
  }

  // Resolves once every edit so far is in this device's copy (IndexedDB): a read transaction
  // on the same store starts only after the writes before it are done.
  async flushed() {
    if (!this.local) return;
    const db = await this.local._db;
    await new Promise((resolve, reject) => {
      const tx = db.transaction(["updates"], "readonly");
      tx.objectStore("updates").count();
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
  }

  get awareness() {
    return this.provider.awareness;
  }

  // The server took this document away from this person (4001: the phase moved on, they
  // were taken off the list, the conference was erased) or does not give it (4403): this
  // device keeps nothing of it for them either, neither its copy nor the page that showed it
  // offline (the compass after the preparation is the client's, not the coordinator's laptop's).
  async forget() {
    const local = this.local;
    this.local = null;
    try {
      await local?.clearData();
    } finally {
      await forgetOffline(this.person);
      delete document.documentElement.dataset.offlineReady;
      document.documentElement.dataset.offlineForgotten = this.name;
    }
  }

  // The server dropped this device's edits (it may only read now): forget the local copy and
  // show what the server has.
  async discard() {
    this.provider.disconnect();
    this.state = "discarding";
    this.onState(this);
    try {
      await this.local?.clearData();
    } finally {
      window.location.reload();
    }
  }

  update() {
    if (this.state === "discarding") return; // the page is about to reload
    const provider = this.provider;
    let state;
    if (this.closedReason) state = "closed";
    else if (!provider.wsconnected) state = this.unsent ? "offline-unsaved" : "offline";
    else if (!provider.synced || !this.joined) state = "syncing";
    else if (this.unsent || this.acked < this.sent) state = "saving";
    else state = "saved";
    if (state !== this.state) {
      this.state = state;
      this.onState(this);
    }
  }

  destroy() {
    this.provider.destroy();
    this.local?.destroy();
    this.doc.destroy();
  }
}

// The connection state as people read it; `element` is a [role=status] paragraph.
// It is always visible; a screen reader hears it only when the connection is lost, comes back
// or ends (a [data-sync-announce] live region), not at every keystroke's "saving… saved".
// Beside a [data-sync-detail] (the plan's one-line bar) it says one or two words, and the
// detail says the rest only when there is something to know (offline, closed).
export function showState(element, live) {
  const state = live.state;
  element.dataset.state = state;
  let said;
  if (state === "closed") said = live.closedReason;
  else if (state === "saved" && !live.writable) said = t("status.reading");
  else said = t(`status.${state}`);
  const detail = element.parentElement?.querySelector("[data-sync-detail]");
  if (detail) {
    const reading = state === "saved" && !live.writable;
    element.textContent = reading ? said : t(`statusWord.${state}`);
    detail.textContent =
      state === "closed" || state === "discarding"
        ? said
        : state.startsWith("offline")
          ? t(`statusDetail.${state}`)
          : "";
    detail.hidden = !detail.textContent;
  } else {
    element.textContent = said;
  }
  const kind = state.startsWith("offline")
    ? "offline"
    : state === "closed" || state === "discarding"
      ? state
      : "online";
  const announce = element.parentElement?.querySelector("[data-sync-announce]");
  if (announce && announce.dataset.kind !== kind) {
    if (announce.dataset.kind || kind !== "online") announce.textContent = said;
    announce.dataset.kind = kind;
  }
  const root = element.closest("[data-live-root]");
  root?.classList.toggle("is-closed", state === "closed");
  if (state === "closed") {
    // Controls that change the document go quiet too; "this device" and what only shows
    // something ([data-keeps-working]: the drawer, who is here) keep working.
    root?.querySelectorAll("button, select, input").forEach((control) => {
      if (!control.closest(".device, [data-keeps-working]")) control.disabled = true;
    });
  }
}

// The live document of an editor page (the plan, the compass, the network map), for the person
// and access its config names, its state shown in the page's [data-sync-status] line.
export function pageDocument(root, config, name, onState = () => {}) {
  const status = root.querySelector("[data-sync-status]");
  const live = new LiveDocument({
    conference: config.conference,
    name,
    person: config.me.id,
    writable: config.writable,
    onState: (state) => {
      showState(status, state);
      onState(state);
    },
  });
  showState(status, live);
  return live;
}

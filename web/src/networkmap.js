// The network map (an ecogram): the client in the middle, everyone who plays, played or could
// play a role on one of three rings around them, built together live in the compass document.
// Loaded on /c/{id}/compass/map (web/templates/compass/map.html), which gives the settings in
// <script type="application/json" id="map-config">.
//
// The shape is server/rules/networkmap.py's (mirrored by networkmap-schema.js); the picture is
// the one server/rules/ecomap.py prints, with the sizes the server gives. Each person is their
// own Y.Map under their id, changed in one transaction at a time, so two people editing at once
// never lose or duplicate anyone. The list beside the map says the same in words: it is how a
// screen reader reads the map and how the keyboard moves people on it.

import * as Y from "yjs";
import { storeState } from "y-indexeddb";
import { directionOf } from "./bidi.js";
import { t } from "./i18n.js";
import { LOCAL, pageDocument } from "./sync.js";
import { keepForOffline } from "./device.js";
import { h } from "./editing.js";
import { MAP_ROOT, characters, newEntry, randomId, readEntry } from "./networkmap-schema.js";

const SVG = "http://www.w3.org/2000/svg";
const STEP = 15; // degrees an arrow key moves someone around the ring
const TAP = 6; // pixels a pointer may move and still be a tap
const SHOWN_NAME_CHARS = 18;
const INK = "#1f2933";
const GONE_INK = "#8a939d";
// As server/rules/ecomap.py: a fill per kind; organisations are rounded squares.
const FILLS = {
  family: "#f6c6a8",
  friend: "#b8dcb0",
  neighbour: "#f3e39a",
  school: "#b9d3f0",
  work: "#d5c4ec",
  professional: "#c9ced6",
};
const SQUARE_KINDS = new Set(["school", "work", "professional"]);

function s(tag, attributes = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== false && value != null) el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child != null && child !== false) el.append(child);
  }
  return el;
}

// A label of the drawing reads in its own direction: a name as it was typed, a ring's name in
// the page's language. An anchor at the "start" or "end" keeps the side of its point it was
// drawn on, whichever way the words run.
function label(attributes, text) {
  const direction = directionOf(text) ?? (document.documentElement.dir === "rtl" ? "rtl" : "ltr");
  const anchor = attributes["text-anchor"];
  const side = { start: "end", end: "start" };
  return s(
    "text",
    {
      ...attributes,
      direction,
      "text-anchor": direction === "rtl" ? (side[anchor] ?? anchor) : anchor,
    },
    text,
  );
}

const round = (value) => Math.round(value * 10) / 10;
const short = (text) =>
  [...text].length <= SHOWN_NAME_CHARS
    ? text
    : `${[...text].slice(0, SHOWN_NAME_CHARS - 1).join("")}…`;
const collapse = (text) => text.split(/\s+/).filter(Boolean).join(" ");
const hourOf = (angle) => Math.round(angle / 30) % 12 || 12;

// A jagged line from (x1, y1) to (x2, y2), straight at both ends where the arrows sit.
function zigzag(x1, y1, x2, y2) {
  const length = Math.hypot(x2 - x1, y2 - y1);
  if (length < 1) return `M${x1},${y1} L${x2},${y2}`;
  const [ux, uy] = [(x2 - x1) / length, (y2 - y1) / length];
  const [px, py] = [-uy, ux];
  const end = 14;
  const teeth = Math.max(1, Math.floor((length - 2 * end) / 12));
  const pitch = (length - 2 * end) / (teeth + 1);
  const points = [
    [x1, y1],
    [x1 + ux * end, y1 + uy * end],
  ];
  for (let i = 1; i <= teeth; i++) {
    const along = end + pitch * i;
    const side = i % 2 ? 7 : -7;
    points.push([x1 + ux * along + px * side, y1 + uy * along + py * side]);
  }
  points.push([x2 - ux * end, y2 - uy * end], [x2, y2]);
  return points.map(([x, y], i) => `${i ? "L" : "M"}${round(x)},${round(y)}`).join(" ");
}

class NetworkMap {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    this.schema = config.schema;
    this.words = config.labels;
    this.geometry = config.schema.geometry;
    this.centre = this.geometry.size / 2;
    this.writable = config.writable;
    this.invited = new Set(config.invited || []);
    this.svg = root.querySelector("[data-map-svg]");
    this.list = root.querySelector("[data-map-list]");
    this.empty = root.querySelector("[data-map-empty]");
    this.announcer = root.querySelector("[data-map-announce]");
    this.items = new Map(); // entry id -> <li>
    this.selected = null;
    this.drag = null;
    this.editing = null; // the id the panel is open for

    this.live = pageDocument(root, config, "compass", (live) => {
      if (live.state === "closed") this.closed();
    });
    this.map = this.live.doc.getMap(MAP_ROOT);
    this.map.observeDeep((events) => this.changed(events));
    this.list.replaceChildren(); // the server's list, for a page without its script
    this.svg.addEventListener("pointerdown", (event) => this.pointerDown(event));
    this.svg.addEventListener("pointermove", (event) => this.pointerMove(event));
    this.svg.addEventListener("pointerup", (event) => this.pointerUp(event));
    this.svg.addEventListener("pointercancel", () => this.cancelDrag());
    root.querySelector("[data-print]")?.addEventListener("click", () => window.print());
    if (this.writable) {
      this.setUpAdd();
      this.setUpPanel();
    }
    this.render();
  }

  // -- reading ------------------------------------------------------------------------------

  entries() {
    const entries = [];
    for (const [id, ymap] of this.map) {
      if (!(ymap instanceof Y.Map)) continue; // reported by the server (check_map)
      const entry = readEntry(id, ymap, this.schema);
      if (entry.name || entry.gap) entries.push(entry);
    }
    return entries;
  }

  entry(id) {
    const ymap = this.map.get(id);
    return ymap instanceof Y.Map ? readEntry(id, ymap, this.schema) : null;
  }

  shownName(entry) {
    const name = entry.name || (entry.gap ? "?" : "");
    return entry.child && entry.age !== null ? `${name} (${entry.age})` : name;
  }

  // Who an entry is in a sentence: their name, or what a gap without a name stands for.
  title(entry) {
    return entry.name ? this.shownName(entry) : this.words["mark.gap"];
  }

  describe(entry) {
    const w = this.words;
    const parts = [w[`kind.${entry.kind}`], w[`ring.${entry.ring}`]];
    if (!entry.gap) parts.push(w[`tie.${entry.tie}`], w[`flow.${entry.flow}`]);
    if (entry.child) parts.push(w["mark.child"]);
    if (entry.gone) parts.push(w["mark.gone"]);
    if (entry.gap) parts.push(w["mark.gap"]);
    return parts
      .filter(Boolean)
      .map((part, i) => (i ? part.toLowerCase() : part))
      .join(", ");
  }

  position(ring, angle) {
    const radius = this.geometry.rings[ring - 1];
    const rad = (angle * Math.PI) / 180;
    return [this.centre + radius * Math.sin(rad), this.centre - radius * Math.cos(rad)];
  }

  // -- changes --------------------------------------------------------------------------------

  changed(events) {
    let removed = false;
    for (const event of events) {
      if (event.target !== this.map) continue;
      for (const [, change] of event.changes.keys) if (change.action === "delete") removed = true;
    }
    if (removed) {
      // Removed for good: this device's copy is rewritten from the collected document, so the
      // name is not kept in its stored updates either (the server does the same).
      if (this.live.local) storeState(this.live.local, true).catch(() => {});
      if (this.editing && !this.entry(this.editing)) this.panel?.close("gone");
    }
    if (this.drag) return; // drawn when the finger lets go
    this.render();
    if (this.editing) this.fillPanel(this.editing, { keepFocused: true });
  }

  transact(change) {
    this.live.doc.transact(change, LOCAL);
  }

  move(id, ring, angle) {
    const ymap = this.map.get(id);
    if (!(ymap instanceof Y.Map)) return;
    this.transact(() => {
      ymap.set("ring", ring);
      ymap.set("angle", round(((angle % 360) + 360) % 360));
    });
  }

  announce(message) {
    this.announcer.textContent = message;
  }

  whereIs(entry) {
    return t("netmap.where", {
      name: this.shownName(entry),
      ring: this.words[`ring.${entry.ring}`].toLowerCase(),
      hour: hourOf(entry.angle),
    });
  }

  // The server closed the compass for this person (the preparation ended): read only.
  closed() {
    this.writable = false;
    this.cancelDrag();
    this.svg.classList.remove("is-writable");
    this.panel?.close();
  }

  // -- drawing --------------------------------------------------------------------------------

  render() {
    const entries = this.entries();
    this.renderSvg(entries);
    this.renderList(entries);
  }

  renderSvg(entries) {
    const g = this.geometry;
    const c = this.centre;
    const marker = (id, fill) =>
      s(
        "marker",
        {
          id,
          viewBox: "0 0 10 10",
          refX: 8,
          refY: 5,
          markerWidth: 5,
          markerHeight: 5,
          orient: "auto-start-reverse",
        },
        s("path", { d: "M0,0 L10,5 L0,10 z", fill }),
      );
    const parts = [s("defs", {}, marker("map-arrow", INK), marker("map-arrow-gone", GONE_INK))];
    g.rings.forEach((radius, i) => {
      parts.push(
        s("circle", {
          class: "ring",
          "data-ring": i + 1,
          cx: c,
          cy: c,
          r: radius,
          fill: "none",
          stroke: "#c9ced6",
          "stroke-width": 1.5,
        }),
        label(
          {
            x: round(c - radius * Math.SQRT1_2 - 4),
            y: round(c + radius * Math.SQRT1_2 + 16),
            "text-anchor": "end",
            "font-size": 15,
            fill: "#535d68",
            class: "ring-label",
          },
          this.words[`ring.${i + 1}`] || "",
        ),
      );
    });
    for (const entry of entries) if (!entry.gap) parts.push(this.tie(entry));
    parts.push(
      s("circle", {
        class: "client",
        cx: c,
        cy: c,
        r: g.client,
        fill: "#ffffff",
        stroke: INK,
        "stroke-width": 4,
      }),
      label(
        {
          x: c,
          y: c + 7,
          "text-anchor": "middle",
          "font-size": 20,
          "font-weight": 700,
          fill: INK,
        },
        short(this.config.client_name),
      ),
    );
    for (const entry of entries) parts.push(this.person(entry));
    this.svg.replaceChildren(...parts);
  }

  tie(entry) {
    const g = this.geometry;
    const c = this.centre;
    const [px, py] = this.position(entry.ring, entry.angle);
    const length = Math.hypot(px - c, py - c) || 1;
    const [ux, uy] = [(c - px) / length, (c - py) / length];
    const [x1, y1] = [px + ux * (g.person + 6), py + uy * (g.person + 6)];
    const [x2, y2] = [c - ux * (g.client + 6), c - uy * (g.client + 6)];
    const arrow = entry.gone ? "url(#map-arrow-gone)" : "url(#map-arrow)";
    const attributes = {
      class: `tie tie-${entry.tie}`,
      "data-tie": entry.id,
      stroke: entry.gone ? GONE_INK : INK,
      "stroke-width": 3,
      fill: "none",
      "stroke-linejoin": "round",
      "stroke-dasharray": entry.tie === "tenuous" ? "10 8" : null,
      "marker-end": entry.flow === "to_client" || entry.flow === "both" ? arrow : null,
      "marker-start": entry.flow === "from_client" || entry.flow === "both" ? arrow : null,
    };
    if (entry.tie === "stressful") return s("path", { d: zigzag(x1, y1, x2, y2), ...attributes });
    return s("line", {
      x1: round(x1),
      y1: round(y1),
      x2: round(x2),
      y2: round(y2),
      ...attributes,
    });
  }

  person(entry) {
    const r = this.geometry.person;
    const [x, y] = this.position(entry.ring, entry.angle);
    const selected = entry.id === this.selected;
    const group = s("g", {
      class: `person kind-${entry.kind}${selected ? " is-selected" : ""}`,
      "data-entry": entry.id,
    });
    if (selected) {
      group.append(
        s("circle", {
          class: "selection",
          cx: x,
          cy: y,
          r: r + 9,
          fill: "none",
          "stroke-width": 4,
        }),
      );
    }
    if (entry.gap) {
      group.append(
        s("circle", {
          class: "gap",
          cx: x,
          cy: y,
          r,
          fill: "#ffffff",
          stroke: INK,
          "stroke-width": 2.5,
          "stroke-dasharray": "2 5",
        }),
        s(
          "text",
          {
            x,
            y: y + 11,
            "text-anchor": "middle",
            "font-size": 32,
            "font-weight": 700,
            fill: INK,
          },
          "?",
        ),
      );
    } else {
      const style = {
        fill: entry.gone ? "#e4e7eb" : FILLS[entry.kind],
        stroke: entry.gone ? GONE_INK : INK,
        "stroke-width": 2,
      };
      if (SQUARE_KINDS.has(entry.kind)) {
        const side = r * 1.7;
        group.append(
          s("rect", {
            x: x - side / 2,
            y: y - side / 2,
            width: side,
            height: side,
            rx: side / 6,
            ...style,
          }),
        );
      } else {
        group.append(s("circle", { cx: x, cy: y, r, ...style }));
      }
      if (entry.gone) {
        const d = r * 0.6;
        group.append(
          s("path", {
            class: "gone",
            d: `M${x - d},${y - d} L${x + d},${y + d} M${x + d},${y - d} L${x - d},${y + d}`,
            stroke: GONE_INK,
            "stroke-width": 3,
            "stroke-linecap": "round",
          }),
        );
      }
    }
    if (entry.name || !entry.gap) {
      group.append(
        label(
          {
            class: "name",
            x,
            y: y + r + 22,
            "text-anchor": "middle",
            "font-size": 20,
            fill: entry.gone ? GONE_INK : INK,
            stroke: "#ffffff",
            "stroke-width": 5,
            "paint-order": "stroke",
          },
          short(this.shownName(entry)),
        ),
      );
    }
    return group;
  }

  // The list: everyone on the map in words, alphabetically (so moving someone never moves
  // the keyboard's place), each a button that selects them and, for a writer, edits them.
  renderList(entries) {
    const collator = new Intl.Collator(document.documentElement.lang || "nl");
    const sorted = [...entries].sort(
      (a, b) => collator.compare(a.name, b.name) || a.id.localeCompare(b.id),
    );
    const seen = new Set();
    const focused = document.activeElement;
    sorted.forEach((entry, index) => {
      seen.add(entry.id);
      let item = this.items.get(entry.id);
      if (!item) {
        item = this.listItem(entry.id);
        this.items.set(entry.id, item);
      }
      this.fillItem(item, entry);
      if (this.list.children[index] !== item)
        this.list.insertBefore(item, this.list.children[index] || null);
    });
    for (const [id, item] of this.items) {
      if (!seen.has(id)) {
        item.remove();
        this.items.delete(id);
      }
    }
    if (focused?.isConnected && focused !== document.activeElement) focused.focus();
    if (this.selected && !seen.has(this.selected)) this.selected = null;
    this.empty.hidden = sorted.length > 0;
  }

  listItem(id) {
    // Built once and then only filled in: a button whose insides were swapped between the
    // press and the release of a finger would get no click.
    const button = h(
      "button",
      {
        type: "button",
        class: "netmap-person",
        "data-keeps-working": true, // reading who is on the map needs no connection
        "aria-describedby": "map-keys",
        onclick: () => {
          this.select(id);
          if (this.writable) this.openPanel(id);
        },
        onkeydown: (event) => this.key(event, id),
        onfocus: () => this.select(id),
      },
      h("span", { class: "netmap-swatch", "aria-hidden": "true" }),
      h(
        "span",
        { class: "netmap-words" },
        // a name as typed, in its own direction, on the list's side of the line
        h("span", { class: "netmap-name" }, h("bdi")),
        h("span", { class: "netmap-desc" }),
      ),
      h("span", { class: "netmap-badge", hidden: true }, t("netmap.invited")),
    );
    return h("li", { class: "netmap-item", "data-entry": id }, button);
  }

  fillItem(item, entry) {
    const swatch = item.querySelector(".netmap-swatch");
    const kind = `netmap-swatch kind-${entry.kind}${entry.gap ? " is-gap" : ""}${entry.gone ? " is-gone" : ""}`;
    if (swatch.className !== kind) swatch.className = kind;
    const name = this.shownName(entry);
    const described = this.describe(entry);
    const nameEl = item.querySelector(".netmap-name bdi");
    const descEl = item.querySelector(".netmap-desc");
    if (nameEl.textContent !== name) nameEl.textContent = name;
    if (descEl.textContent !== described) descEl.textContent = described;
    item.querySelector(".netmap-badge").hidden = !this.invited.has(entry.id);
    this.markSelected(item, entry.id);
  }

  markSelected(item, id) {
    const button = item.firstElementChild;
    item.classList.toggle("is-selected", id === this.selected);
    if (id === this.selected) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }

  select(id) {
    if (this.selected === id) return;
    this.selected = id;
    for (const [entryId, item] of this.items) this.markSelected(item, entryId);
    this.renderSvg(this.entries());
  }

  // -- the keyboard ---------------------------------------------------------------------------

  key(event, id) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const entry = this.entry(id);
    if (!entry) return;
    const moves = {
      ArrowLeft: [0, -STEP],
      ArrowRight: [0, STEP],
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
    };
    if (event.key in moves) {
      event.preventDefault();
      if (!this.writable) return;
      const [inOut, around] = moves[event.key];
      const ring = entry.ring + inOut;
      if (ring < 1 || ring > this.schema.rings.length) {
        this.announce(t(ring < 1 ? "netmap.closest" : "netmap.furthest"));
        return;
      }
      this.select(id);
      this.move(id, ring, entry.angle + around);
      this.announce(this.whereIs(this.entry(id)));
    } else if ((event.key === "Delete" || event.key === "Backspace") && this.writable) {
      event.preventDefault();
      this.askRemove(id);
    }
  }

  // -- fingers and the mouse ------------------------------------------------------------------

  toMap(event) {
    const matrix = this.svg.getScreenCTM();
    if (!matrix) return [this.centre, this.centre];
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    return [point.x, point.y];
  }

  pointerDown(event) {
    const group = event.target.closest?.("g[data-entry]");
    if (!group || event.button > 0) return;
    const id = group.dataset.entry;
    const entry = this.entry(id);
    if (!entry) return;
    event.preventDefault();
    this.select(id);
    const fresh = this.svg.querySelector(`g[data-entry="${CSS.escape(id)}"]`);
    this.drag = {
      id,
      entry,
      group: fresh,
      pointer: event.pointerId,
      x: event.clientX,
      y: event.clientY,
    };
    this.drag.moved = false;
    this.svg.setPointerCapture?.(event.pointerId);
  }

  // Where a pointer at (x, y) on the map puts someone: the nearest ring, and the angle.
  placeAt(x, y) {
    const dx = x - this.centre;
    const dy = y - this.centre;
    const distance = Math.hypot(dx, dy);
    const rings = this.geometry.rings;
    let ring = 1;
    for (let i = 1; i < rings.length; i++)
      if (distance > (rings[i - 1] + rings[i]) / 2) ring = i + 1;
    const angle = ((Math.atan2(dx, -dy) * 180) / Math.PI + 360) % 360;
    return { ring, angle };
  }

  pointerMove(event) {
    const drag = this.drag;
    if (!drag || event.pointerId !== drag.pointer) return;
    if (!drag.moved && Math.hypot(event.clientX - drag.x, event.clientY - drag.y) < TAP) return;
    if (!this.writable) return;
    drag.moved = true;
    const [x, y] = this.toMap(event);
    const [x0, y0] = this.position(drag.entry.ring, drag.entry.angle);
    drag.group?.setAttribute("transform", `translate(${round(x - x0)} ${round(y - y0)})`);
    drag.group?.classList.add("is-dragged");
    drag.place = this.placeAt(x, y);
    for (const ring of this.svg.querySelectorAll("circle.ring")) {
      ring.classList.toggle("is-target", Number(ring.dataset.ring) === drag.place.ring);
    }
  }

  pointerUp(event) {
    const drag = this.drag;
    if (!drag || event.pointerId !== drag.pointer) return;
    this.drag = null;
    this.svg.releasePointerCapture?.(event.pointerId);
    if (drag.moved && drag.place && this.writable) {
      this.move(drag.id, drag.place.ring, drag.place.angle);
      const entry = this.entry(drag.id);
      if (entry) this.announce(this.whereIs(entry));
    } else {
      this.render();
      if (this.writable) this.openPanel(drag.id);
      else this.items.get(drag.id)?.firstElementChild?.focus();
    }
  }

  cancelDrag() {
    if (!this.drag) return;
    this.drag = null;
    this.render();
  }

  // -- adding, changing, removing -------------------------------------------------------------

  values(form) {
    const field = (name) => form.elements.namedItem(name);
    return {
      name: collapse(field("name").value),
      kind: field("kind").value,
      ring: Number(field("ring").value),
      tie: field("tie").value,
      flow: field("flow").value,
      child: field("child").checked,
      age: field("age").value.trim(),
      gone: field("gone").checked,
      gap: field("gap").checked,
    };
  }

  // What is wrong with what was typed, by field (nothing is saved while something is).
  problems(values) {
    const found = {};
    const limit = this.schema.name_limit;
    const count = characters(values.name);
    if (!values.name && !values.gap) found.name = t("netmap.error.name_missing");
    else if (count > limit) found.name = t("netmap.error.name_too_long", { count, limit });
    else if (values.child && values.name.includes(" "))
      found.name = t("netmap.error.child_first_name");
    const [low, high] = this.schema.age_range;
    if (values.child && values.age !== "") {
      const age = Number(values.age);
      if (!Number.isInteger(age) || age < low || age > high)
        found.age = t("netmap.error.age", { low, high });
    }
    return found;
  }

  showProblems(form, found) {
    for (const error of form.querySelectorAll("[data-error-for]")) {
      const message = found[error.dataset.errorFor] || "";
      error.textContent = message;
      error.hidden = !message;
      const input = form.elements.namedItem(error.dataset.errorFor);
      if (input instanceof HTMLElement) {
        if (message) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      }
    }
  }

  showAge(form) {
    form.querySelector("[data-age-field]").hidden = !form.elements.namedItem("child").checked;
  }

  // A place on the ring as far as can be from the others already on it.
  // A place on the ring as far as can be from everyone, most of all from those on the same
  // ring (so the lines of new people do not lie on top of each other).
  freeAngle(ring) {
    const others = this.entries().map((e) => [e.angle, e.ring === ring ? 1 : 2]);
    let best = 0;
    let room = -1;
    for (let angle = 0; angle < 360; angle += 15) {
      let nearest = 360;
      for (const [other, weight] of others) {
        const apart = Math.abs(angle - other) % 360;
        nearest = Math.min(nearest, Math.min(apart, 360 - apart) * weight);
      }
      if (nearest > room) {
        room = nearest;
        best = angle;
      }
    }
    return best;
  }

  setUpAdd() {
    const form = this.root.querySelector("[data-map-add]");
    if (!form) return;
    form.elements.namedItem("child").addEventListener("change", () => this.showAge(form));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!this.writable) return;
      const values = this.values(form);
      const found = this.problems(values);
      if (this.map.size >= this.schema.max_entries)
        found.full = t("netmap.error.full", { limit: this.schema.max_entries });
      this.showProblems(form, found);
      const first = Object.keys(found)[0];
      if (first) {
        const input = form.elements.namedItem(first);
        (input instanceof HTMLElement ? input : form.querySelector("button")).focus();
        return;
      }
      const id = randomId();
      const age = values.child && values.age !== "" ? Number(values.age) : null;
      this.transact(() => {
        this.map.set(id, newEntry(id, { ...values, age, angle: this.freeAngle(values.ring) }));
      });
      this.selected = id;
      this.render();
      const entry = this.entry(id);
      form.reset();
      this.showAge(form);
      this.announce(t("netmap.added", { where: this.whereIs(entry) }));
      form.elements.namedItem("name").focus();
    });
  }

  setUpPanel() {
    this.panel = this.root.querySelector("[data-map-panel]");
    this.confirm = this.root.querySelector("[data-map-confirm]");
    if (!this.panel) return;
    const form = this.panel.querySelector("form");
    this.panelForm = form;
    const save = (field, id = this.editing) => {
      const ymap = id && this.map.get(id);
      if (!(ymap instanceof Y.Map) || !this.writable) return;
      const values = this.values(form);
      const found = this.problems(values);
      this.showProblems(form, found);
      if (found.name && (field === "name" || field === "child" || field === "gap")) return;
      if (found.age && (field === "age" || field === "child")) return;
      this.transact(() => {
        if (field === "ring") ymap.set("ring", values.ring);
        else if (field !== "age") ymap.set(field, values[field]);
        if (field === "child" || field === "age") {
          if (values.child && values.age !== "") ymap.set("age", Number(values.age));
          else if (ymap.has("age")) ymap.delete("age");
        }
      });
    };
    for (const name of ["name", "kind", "ring", "tie", "flow", "child", "age", "gone", "gap"]) {
      form.elements.namedItem(name).addEventListener("change", () => {
        if (name === "child") this.showAge(form);
        save(name);
      });
    }
    // What was typed is never thrown away: the panel stays open while something is wrong.
    const wrong = () => {
      const found = this.problems(this.values(form));
      this.showProblems(form, found);
      const first = Object.keys(found)[0];
      if (first) form.elements.namedItem(first).focus();
      return Boolean(first);
    };
    form.addEventListener("submit", (event) => {
      if (wrong()) event.preventDefault();
    });
    this.panel.addEventListener("cancel", (event) => {
      if (wrong()) event.preventDefault();
    });
    this.panel.addEventListener("close", () => {
      const id = this.editing;
      this.editing = null;
      if (this.panel.returnValue !== "gone") {
        const typed = collapse(form.elements.namedItem("name").value);
        if (id && this.entry(id) && typed !== this.entry(id).name) save("name", id);
      }
      const item = id && this.items.get(id);
      if (item?.isConnected) item.firstElementChild.focus();
    });
    form.querySelector("[data-remove]").addEventListener("click", () => {
      const id = this.editing;
      this.panel.close("remove");
      if (id) this.askRemove(id);
    });
  }

  fillPanel(id, { keepFocused = false } = {}) {
    const entry = this.entry(id);
    const form = this.panelForm;
    if (!entry || !form) return;
    this.panel.querySelector("[data-panel-title]").textContent = t("netmap.edit", {
      name: this.title(entry),
    });
    const set = (name, value) => {
      const input = form.elements.namedItem(name);
      if (keepFocused && input === document.activeElement) return;
      if (input.type === "checkbox") input.checked = value;
      else input.value = value;
    };
    set("name", entry.name);
    set("kind", entry.kind);
    set("ring", String(entry.ring));
    set("tie", entry.tie);
    set("flow", entry.flow);
    set("child", entry.child);
    set("age", entry.age === null ? "" : String(entry.age));
    set("gone", entry.gone);
    set("gap", entry.gap);
    this.showAge(form);
  }

  openPanel(id) {
    if (!this.panel || !this.writable) return;
    this.editing = id;
    this.showProblems(this.panelForm, {});
    this.fillPanel(id);
    this.panel.returnValue = "";
    if (!this.panel.open) this.panel.showModal();
    this.panelForm.elements.namedItem("name").focus();
  }

  askRemove(id) {
    const entry = this.entry(id);
    if (!entry || !this.confirm || !this.writable) return;
    this.confirm.querySelector("[data-confirm-title]").textContent = t("netmap.remove_question", {
      name: this.title(entry),
    });
    this.confirm.returnValue = "";
    this.confirm.onclose = () => {
      const next = this.neighbourOf(id);
      if (this.confirm.returnValue === "remove" && this.writable) {
        this.transact(() => this.map.delete(id));
        this.announce(t("netmap.removed", { name: this.title(entry) }));
        (next || this.root.querySelector("#new-name"))?.focus();
      } else {
        this.items.get(id)?.firstElementChild?.focus();
      }
    };
    this.confirm.showModal();
  }

  // The list's button after (or else before) this one: where the keyboard goes on removal.
  neighbourOf(id) {
    const item = this.items.get(id);
    const other = item?.nextElementSibling || item?.previousElementSibling;
    return other?.firstElementChild || null;
  }
}

const root = document.querySelector("[data-network-map]");
const configElement = document.getElementById("map-config");
if (root && configElement) {
  window.kringMap = new NetworkMap(root, JSON.parse(configElement.textContent));
  keepForOffline(window.kringMap.config.me.id);
}

// The network map's shape in the compass document, mirrored from server/rules/networkmap.py
// (which is where it is written down). The choices, limits, defaults and sizes come from the
// server through the page; only the key names live here too, and
// tests/rules/test_networkmap.py checks them against the server's.

import * as Y from "yjs";

export const MAP_ROOT = "map";
export const ENTRY_KEYS = [
  "id",
  "name",
  "kind",
  "ring",
  "angle",
  "tie",
  "flow",
  "gone",
  "gap",
  "child",
  "age",
];

export const randomId = () =>
  (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`)
    .replace(/-/g, "")
    .slice(0, 12);

// A new entry as one Y.Map, filled before it goes into the map (in the caller's transaction),
// so nobody ever sees half of it. A child keeps a first name and an age at most; an adult
// has no age at all.
export function newEntry(id, fields) {
  const entry = new Y.Map();
  entry.set("id", id);
  entry.set("name", fields.name);
  entry.set("kind", fields.kind);
  entry.set("ring", fields.ring);
  entry.set("angle", fields.angle);
  entry.set("tie", fields.tie);
  entry.set("flow", fields.flow);
  entry.set("gone", Boolean(fields.gone));
  entry.set("gap", Boolean(fields.gap));
  entry.set("child", Boolean(fields.child));
  if (fields.child && Number.isInteger(fields.age)) entry.set("age", fields.age);
  return entry;
}

const whole = (value) => (Number.isInteger(value) ? value : null);

// One entry as plain values, each invalid one read as its default (as read_map does).
export function readEntry(id, ymap, schema) {
  const d = schema.defaults;
  const pick = (key, choices) => {
    const value = ymap.get(key);
    return typeof value === "string" && choices.includes(value) ? value : d[key];
  };
  const name = ymap.get("name");
  const ring = whole(ymap.get("ring"));
  const angle = ymap.get("angle");
  const child = ymap.get("child") === true;
  const age = whole(ymap.get("age"));
  const [low, high] = schema.age_range;
  return {
    id,
    name: typeof name === "string" ? name.split(/\s+/).filter(Boolean).join(" ") : "",
    kind: pick("kind", schema.kinds),
    ring: schema.rings.includes(ring) ? ring : d.ring,
    angle: typeof angle === "number" && Number.isFinite(angle) ? ((angle % 360) + 360) % 360 : 0,
    tie: pick("tie", schema.ties),
    flow: pick("flow", schema.flows),
    gone: ymap.get("gone") === true,
    gap: ymap.get("gap") === true,
    child,
    age: child && age !== null && age >= low && age <= high ? age : null,
  };
}

// Characters as the server counts them (code points: an emoji is one, not two UTF-16 units).
export const characters = (text) => [...text].length;

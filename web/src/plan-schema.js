// The plan document's shape, mirrored from server/plan.py (which is where it is written
// down). Limits and the lists of life areas and statuses come from the server through the
// page; only the key names live here too, and tests/test_plan.py checks them against the server.

import * as Y from "yjs";

export const AGREEMENT_TEXT_FIELDS = ["what", "who", "when", "where", "backup", "request"];
export const AGREEMENT_KEYS = [
  "id",
  "life_area",
  ...AGREEMENT_TEXT_FIELDS,
  "who_ids",
  "when_date",
  "request_to",
  "status",
  "progress",
  "removed",
  "replaces",
];

// A short random id for an item of a list that several devices add to (a plan's agreement,
// a compass question).
export const randomId = () =>
  (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`)
    .replace(/-/g, "")
    .slice(0, 12);

// A new agreement as one Y.Map, made in one transaction so nobody ever sees half of it.
// `replaces`: the id of the agreement whose backup it is ("use the backup"), else "".
export function newAgreement(lifeArea, what, replaces = "") {
  const agreement = new Y.Map();
  agreement.set("id", randomId());
  agreement.set("life_area", lifeArea);
  for (const field of AGREEMENT_TEXT_FIELDS)
    agreement.set(field, new Y.Text(field === "what" ? what : ""));
  agreement.set("who_ids", new Y.Map());
  agreement.set("when_date", "");
  agreement.set("request_to", "");
  agreement.set("status", "open");
  agreement.set("progress", new Y.Array());
  agreement.set("removed", false);
  agreement.set("replaces", replaces);
  return agreement;
}

export const textOf = (value) =>
  typeof value === "string" ? value : value instanceof Y.Text ? value.toString() : "";

export function isDate(value) {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

// Characters as the server counts them (code points: an emoji is one, not two UTF-16 units).
export const characters = (text) => [...text].length;

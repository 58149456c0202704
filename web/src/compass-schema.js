// The compass document's shape, mirrored from server/rules/compass.py (which is where it is
// written down). Limits and the life areas come from the server through the page; only the
// key names live here too, and tests/rules/test_compass.py checks them against the server.

import * as Y from "yjs";
import { randomId } from "./plan-schema.js";

export const COMPASS_ROOTS = ["answers", "strengths", "priorities", "questions", "map"];
export const ANSWER_KEYS = ["if_nothing", "if_something", "wishes_self", "wishes_others"];
export const QUESTION_KEYS = ["id", "text", "to_conference", "removed"];

// A new question for the conference as one Y.Map, made in one transaction by the caller.
export function newQuestion(text) {
  const question = new Y.Map();
  question.set("id", randomId());
  question.set("text", new Y.Text(text));
  question.set("to_conference", false);
  question.set("removed", false);
  return question;
}

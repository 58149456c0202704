// "Switch person" by scanning the QR code on someone's invitation card with this device's
// camera (a shared tablet). Loaded only on pages that offer "Dit apparaat".
//
// The decoder is barcode-detector (the Barcode Detection API on ZXing-C++ compiled to
// WebAssembly); the browser's own BarcodeDetector is used where it has one that reads QR
// codes. Its .wasm file is bundled and served from our own /static/ (never a CDN: Kring runs
// on a LAN without internet), and it is fetched only when someone starts scanning.

import { BarcodeDetector as ZXingDetector, prepareZXingModule } from "barcode-detector/ponyfill";
import wasmUrl from "zxing-wasm/reader/zxing_reader.wasm";
import { t } from "./i18n.js";

prepareZXingModule({
  overrides: {
    locateFile: (file, prefix) => (file.endsWith(".wasm") ? wasmUrl : prefix + file),
  },
  fireImmediately: false,
});

// The server's own check (server/views/device.py INVITATION_PATH): a link of this Kring.
const INVITATION_PATH = /^\/i\/[A-Za-z0-9_-]{20,100}$/;
const SCAN_EVERY_MS = 200;

// The invitation path in a scanned text if it is a link to this Kring's /i/ path, else null.
export function invitationPath(text, here = window.location) {
  let url;
  try {
    url = new URL(String(text).trim(), here.href);
  } catch (_) {
    return null;
  }
  if (url.host !== here.host || url.search || url.hash) return null;
  return INVITATION_PATH.test(url.pathname) ? url.pathname : null;
}

async function detector() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) return new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch (_) {
      // fall through to ZXing
    }
  }
  return new ZXingDetector({ formats: ["qr_code"] });
}

function cameraProblem(err) {
  const name = err?.name || "";
  if (name === "NotAllowedError" || name === "SecurityError") return t("scan.refused");
  if (name === "NotFoundError" || name === "OverconstrainedError") return t("scan.no-camera");
  if (name === "NotReadableError" || name === "AbortError") return t("scan.busy");
  return t("scan.failed");
}

function setUp(root) {
  const start = root.querySelector("[data-scan-start]");
  const stop = root.querySelector("[data-scan-stop]");
  const video = root.querySelector("video");
  const status = root.querySelector("[data-scan-status]");
  let stream = null;
  let timer = null;
  let running = false;

  const say = (text, kind = "") => {
    status.textContent = text;
    status.className = kind;
  };

  const halt = () => {
    running = false;
    clearTimeout(timer);
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
  };

  const look = async (reader) => {
    if (!running) return;
    try {
      if (video.readyState >= 2) {
        for (const code of await reader.detect(video)) {
          const path = invitationPath(code.rawValue);
          if (path) {
            halt();
            say(t("scan.found"));
            root.dataset.scanned = path;
            window.location.assign(`/switch?link=${encodeURIComponent(path)}`);
            return;
          }
          say(t("scan.not-kring"), "error");
        }
      }
    } catch (_) {
      // a frame that could not be read (the video is not ready yet): try the next one
    }
    timer = setTimeout(() => look(reader), SCAN_EVERY_MS);
  };

  start.addEventListener("click", async () => {
    if (!navigator.mediaDevices?.getUserMedia) {
      say(window.isSecureContext ? t("scan.no-camera") : t("scan.insecure"), "error");
      return;
    }
    say(t("scan.starting"));
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } },
        audio: false,
      });
    } catch (err) {
      halt();
      say(cameraProblem(err), "error");
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    stop.hidden = false;
    start.hidden = true;
    running = true;
    try {
      await video.play();
      const reader = await detector();
      say(t("scan.looking"));
      look(reader);
    } catch (_) {
      halt();
      say(t("scan.failed"), "error");
    }
  });
  stop.addEventListener("click", () => {
    halt();
    say("");
  });
  // The camera goes off when the person leaves the page or closes "Dit apparaat".
  window.addEventListener("pagehide", halt);
  root.closest("details")?.addEventListener("toggle", (event) => {
    if (!event.target.open) halt();
  });
  root.hidden = false; // without this script the form to paste a link is all there is
}

for (const root of document.querySelectorAll("[data-scan]")) setUp(root);
// What the scanner accepts, for whoever checks it (the tests, a curious developer).
window.kringScan = { invitationPath };

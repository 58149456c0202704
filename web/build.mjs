// Bundle web/src/app.js and web/src/app.css into web/static/build/ with
// content-hashed names, and write web/static/build/manifest.json:
//
//   {"app.js": "build/app-<HASH>.js", "app.css": "build/app-<HASH>.css"}
//
// Paths in the manifest are relative to web/static (the directory served at
// /static/); server/assets.py reads it and templates call static("app.js").
//
//   node build.mjs          one-off build (exit code 1 on any failure)
//   node build.mjs --watch  rebuild on change, rewriting the manifest each time

import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";

let esbuild;
try {
  esbuild = await import("esbuild");
} catch (err) {
  console.error(
    "build.mjs: BUILD FAILED: esbuild is not installed. Run `npm ci` in web/ first.\n" +
      `  (${err?.message ? err.message : err})`,
  );
  process.exit(1);
}

const webDir = path.dirname(fileURLToPath(import.meta.url));
const staticDir = path.join(webDir, "static");
const outDir = path.join(staticDir, "build");
const manifestPath = path.join(outDir, "manifest.json");

// Logical name (manifest key) -> source file, relative to web/.
const entries = {
  "app.js": "src/app.js",
  "live.js": "src/live.js",
  "plan.js": "src/plan.js",
  "compass.js": "src/compass.js",
  "presentation.js": "src/presentation.js",
  "scan.js": "src/scan.js",
  "handout.js": "src/handout.js",
  "networkmap.js": "src/networkmap.js",
  "app.css": "src/app.css",
};

const watch = process.argv.includes("--watch");

/** @type {import("esbuild").BuildOptions} */
const options = {
  absWorkingDir: webDir,
  entryPoints: Object.values(entries),
  outdir: outDir,
  outbase: "src",
  entryNames: "[name]-[hash]",
  assetNames: "assets/[name]-[hash]",
  // The QR scanner's WebAssembly decoder (scan.js) is a file of our own, referenced by an
  // absolute URL: it is served from /static/build/assets/, never from a CDN.
  loader: { ".wasm": "file", ".woff2": "file" },
  publicPath: "/static/build",
  bundle: true,
  format: "iife",
  platform: "browser",
  // ES2019 syntax; browser versions so CSS is lowered sensibly too
  // (iPadOS 14 / older Android tablets are still common in this field).
  target: ["es2020", "chrome90", "edge90", "firefox90", "safari15"],
  minify: !watch,
  sourcemap: "linked", // separate .map files + sourceMappingURL comment
  metafile: true,
  write: true,
  logLevel: "warning",
  logOverride: {
    // htmx uses eval() deliberately (hx-on, js: values); harmless here.
    "direct-eval": "silent",
  },
};

/** An expected failure: report the message only, no stack trace. */
class BuildError extends Error {}

function fail(err) {
  const message = err?.message ? err.message : String(err);
  console.error(`\nbuild.mjs: BUILD FAILED: ${message}`);
  // esbuild prints its own diagnostics (err.errors); for anything unexpected
  // show the stack too.
  if (!(err instanceof BuildError) && !(err && Array.isArray(err.errors))) {
    console.error(err?.stack ? err.stack : err);
  }
  process.exitCode = 1;
}

function toPosix(p) {
  return p.split(path.sep).join("/");
}

/** Build the manifest from esbuild's metafile. */
function manifestFrom(metafile) {
  const bySource = new Map(
    Object.entries(entries).map(([logical, src]) => [toPosix(path.normalize(src)), logical]),
  );
  const manifest = {};
  for (const [outPath, info] of Object.entries(metafile.outputs)) {
    if (!info.entryPoint || outPath.endsWith(".map")) continue;
    const logical = bySource.get(toPosix(path.normalize(info.entryPoint)));
    if (!logical) continue;
    const abs = path.resolve(webDir, outPath);
    if (manifest[logical]) {
      throw new BuildError(`two outputs for ${logical}: ${manifest[logical]} and ${outPath}`);
    }
    manifest[logical] = toPosix(path.relative(staticDir, abs));
  }
  for (const logical of Object.keys(entries)) {
    if (!manifest[logical]) {
      throw new BuildError(`no output found for ${logical} in esbuild's metafile`);
    }
    const ext = path.extname(logical);
    if (path.extname(manifest[logical]) !== ext) {
      throw new BuildError(`output for ${logical} has unexpected extension: ${manifest[logical]}`);
    }
  }
  // Stable key order (that of `entries`).
  return Object.fromEntries(Object.keys(entries).map((k) => [k, manifest[k]]));
}

async function writeManifest(manifest) {
  const tmp = `${manifestPath}.tmp`;
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`, "utf8");
  await rename(tmp, manifestPath); // atomic replace: the server never reads half a file
}

/** Remove files from earlier watch rebuilds that are no longer outputs. */
async function pruneStale(metafile) {
  const keep = new Set(Object.keys(metafile.outputs).map((p) => path.resolve(webDir, p)));
  keep.add(manifestPath);
  const walk = async (dir) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (!keep.has(full)) await rm(full, { force: true });
    }
  };
  await walk(outDir);
}

/** Write .gz and .br beside each bundle; WhiteNoise serves them to browsers that accept them. */
async function precompress(relativePaths) {
  for (const rel of relativePaths) {
    const file = path.join(staticDir, rel);
    const body = await readFile(file);
    await writeFile(`${file}.gz`, gzipSync(body, { level: 9 }));
    await writeFile(
      `${file}.br`,
      brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }),
    );
  }
}

async function cleanOutDir() {
  // Guard against ever deleting something other than web/static/build.
  if (path.basename(outDir) !== "build" || path.dirname(outDir) !== staticDir) {
    throw new BuildError(`refusing to clean unexpected directory ${outDir}`);
  }
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
}

function summary(manifest) {
  return Object.entries(manifest)
    .map(([k, v]) => `  ${k} -> static/${v}`)
    .join("\n");
}

async function buildOnce() {
  await cleanOutDir();
  const result = await esbuild.build(options);
  if (result.errors.length) throw new BuildError("esbuild reported errors");
  // esbuild only warns about e.g. broken CSS; a release build must not ship that.
  if (result.warnings.length) {
    throw new BuildError(
      `esbuild reported ${result.warnings.length} warning(s) (see above); fix them`,
    );
  }
  const manifest = manifestFrom(result.metafile);
  const wasm = Object.keys(result.metafile.outputs)
    .filter((out) => out.endsWith(".wasm"))
    .map((out) => toPosix(path.relative(staticDir, path.resolve(webDir, out))));
  await precompress([...Object.values(manifest), ...wasm]);
  await writeManifest(manifest);
  console.log(`built ${path.relative(webDir, outDir)}/ (manifest.json):\n${summary(manifest)}`);
}

async function buildWatch() {
  await cleanOutDir();
  const manifestPlugin = {
    name: "kring-manifest",
    setup(build) {
      build.onEnd(async (result) => {
        if (result.errors.length || !result.metafile) {
          console.error("build.mjs: rebuild failed; keeping the previous manifest");
          return;
        }
        try {
          const manifest = manifestFrom(result.metafile);
          await writeManifest(manifest);
          await pruneStale(result.metafile);
          console.log(`[${new Date().toLocaleTimeString()}] rebuilt:\n${summary(manifest)}`);
        } catch (err) {
          console.error(`build.mjs: could not write manifest: ${err.message}`);
        }
      });
    },
  };
  const ctx = await esbuild.context({ ...options, plugins: [manifestPlugin] });
  await ctx.watch();
  console.log("watching src/ for changes (Ctrl-C to stop)");
  const stop = async () => {
    await ctx.dispose();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

try {
  if (watch) await buildWatch();
  else await buildOnce();
} catch (err) {
  fail(err);
}

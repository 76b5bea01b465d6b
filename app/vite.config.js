// Builds the app into dist/ (served at /app/), then writes dist/sw.js with the list of every
// file of the shell and a version that is a hash of their contents.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { defineConfig } from "vite";

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

function serviceWorker() {
  let outDir;
  return {
    name: "bridges-service-worker",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      const shell = files(outDir)
        .map((path) => relative(outDir, path).split("\\").join("/"))
        .filter((path) => path !== "sw.js" && !path.endsWith(".map"))
        .sort();
      const hash = createHash("sha256");
      for (const path of shell) hash.update(path).update(readFileSync(join(outDir, path)));
      const version = hash.digest("hex").slice(0, 16);
      const template = readFileSync(new URL("./sw.template.js", import.meta.url), "utf8");
      const paths = [...shell.filter((p) => p !== "index.html"), "index.html"];
      writeFileSync(
        join(outDir, "sw.js"),
        template.replace("__VERSION__", version).replace("__SHELL__", JSON.stringify(paths)),
      );
    },
  };
}

export default defineConfig({
  base: "/app/",
  build: { target: "es2022", sourcemap: false, assetsInlineLimit: 0 },
  plugins: [serviceWorker()],
});

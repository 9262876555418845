// Runs kinto.js's server-backed HTTP suite alone, in one process, against
// the server that KINTO_PSERVE_EXECUTABLE starts (see run.sh).
import { defineConfig } from "vitest/config";
import path from "path";

const root = process.env.KINTOJS_DIR ?? process.cwd();

export default defineConfig({
  root,
  resolve: {
    alias: {
      "@src": path.resolve(root, "src"),
      "@test": path.resolve(root, "test"),
    },
  },
  test: {
    globals: true,
    include: [process.env.KINTOJS_SUITE ?? "test/http/integration_test.ts"],
    setupFiles: ["test/setup-globals.ts"],
    fileParallelism: false,
    testTimeout: 20000,
    hookTimeout: 60000,
  },
});

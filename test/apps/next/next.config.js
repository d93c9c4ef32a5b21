// websession runs as the installed package it is (Node.js runtime), not bundled. The tests link
// node_modules to packages outside the app's folder, which Turbopack reaches only from a root
// above both (TURBOPACK_ROOT; an ordinary install needs none), and build from scratch each time
// (no build cache to write).
export default {
  serverExternalPackages: ['websession'],
  ...(process.env.TURBOPACK_ROOT ? { turbopack: { root: process.env.TURBOPACK_ROOT } } : {}),
  experimental: { turbopackFileSystemCacheForBuild: false },
};

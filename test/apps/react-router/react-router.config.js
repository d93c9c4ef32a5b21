// React Router framework mode, server-rendered: `react-router build` writes build/server and
// build/client. The v8 behaviours are taken now (and their warnings silenced).
export default {
  ssr: true,
  future: {
    v8_middleware: true,
    v8_splitRouteModules: true,
    v8_viteEnvironmentApi: true,
    v8_passThroughRequests: true,
  },
};

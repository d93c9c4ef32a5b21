// Express 4, installed as the devDependency alias `express4` to run the conformance suite on it.
declare module 'express4' {
  import type { Express } from 'express';

  const express: () => Express;
  export default express;
}

// Serves the built app on node:http through @react-router/node, on the port the system picks,
// and prints it: `listening <port>`.
import { createServer } from 'node:http';
import { createRequestListener } from '@react-router/node';
import * as build from './build/server/index.js';

const server = createServer(createRequestListener({ build }));
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));

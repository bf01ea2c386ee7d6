// The console's public module: its routes, mounted on the gateway by whoever starts it.
export { consoleRoutes } from './routes.js';

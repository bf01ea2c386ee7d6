// swagger-ui-dist ships a prebuilt UMD bundle without types: the one call the console's API page makes.
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  interface Request {
    url: string;
    headers: Record<string, string>;
  }
  const SwaggerUIBundle: (options: {
    url: string;
    domNode: HTMLElement;
    deepLinking?: boolean;
    tryItOutEnabled?: boolean;
    requestInterceptor?: (req: Request) => Request;
  }) => unknown;
  export default SwaggerUIBundle;
}

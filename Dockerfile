# The one image every mesh process runs in: the gateway, each subgraph, the feature and metadata servers, and the
# jobs. `mesh deploy k8s --image` and `mesh schedule airflow --image` name it.
#   docker build -t registry.example/marketplace-data-mesh:1.0 .
FROM node:20-bookworm-slim
# The manifests read schema files from here (cli/deploy/kubernetes.ts).
WORKDIR /app
ENV NODE_ENV=production MESH_ENV=production MESH_HTTP_HOST=0.0.0.0
COPY . .
# tsx runs the TypeScript sources and vite builds the console: both are runtime dependencies.
RUN npm ci --omit=dev && npm run build
USER node
ENTRYPOINT ["npx", "mesh"]

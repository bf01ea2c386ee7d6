// Imported first by the benchmarks that serve GraphQL in their own process, so graphql-js loads as cli/bin.js runs it:
// without its per-type-test development checks.
process.env.NODE_ENV ??= 'production';

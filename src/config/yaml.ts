// The YAML parser, loaded only when a clouds.yaml is read (import('./yaml.ts')). A static import
// here, not a dynamic import('yaml') there: yaml is CommonJS, and a bundle's split chunk of a
// CommonJS module has only a default export, so named exports taken from import('yaml') are
// undefined in dist/ (while tsx, which the unit tests use, resolves them).
export { LineCounter, parseDocument } from 'yaml'

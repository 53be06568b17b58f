// YAML files imported `with { type: 'text' }` are bundled as strings (esbuild).
declare module '*.yaml' {
  const text: string;
  export default text;
}

// What renderers return: files to place in the target, as pure data. Writing them is the
// caller's job (a curthooks module, through the Runner), so renderers stay testable.

export interface RenderedFile {
  /** Absolute path inside the target (`/etc/netplan/50-cloud-init.yaml`). */
  path: string;
  content: string;
  mode: number;
}

// The POSIX sh extractor that heads every installer, as a template.
//
// It must run under dash and busybox ash with only coreutils/busybox tools, so: no
// `local`, no arrays, no `set -o pipefail`, no bash-isms; numbers are never
// zero-padded (dash reads 010 as octal).
//
// Robust against damage, not just against a wrong checksum (an exhaustive single-bit
// flip sweep over the head drove these rules, see docs/pack.md):
// - The head holds no packed text at all: the command (.pxm/run) and the `info` text
//   (.pxm/info) live in the payload. sh runs top-level code as it parses it, so a flip
//   that turned a line of packed text into code would run before any check.
// - Every check fails closed and exits inline: `[ ok ] || { pxm_fail ..; exit N; }`, so
//   one damaged byte cannot disable both the message and the exit.
// - Verification is straight-line top-level code that runs before any function is even
//   defined: dash can swallow the rest of the file after a damaged function header and
//   exit 0, so no check may depend on a function definition parsing.
// - Unpacking is gated on what verification recorded (pxm_ok_head, pxm_ok_payload), and
//   the unpacked copy is hashed again: a skipped or damaged verify step still stops.
// - No comments inside the code: a newline flipped into another byte would comment the
//   next line out.
//
// @NAME@ placeholders are filled by script.ts. Layout of the finished file:
//   line 1-2   shebang, usage comment         } hashed into PXM_HEAD_SHA256
//   line 3     PXM_HEAD_SHA256=...            (the only line not covered)
//   line 4..N  variables, functions, the call } hashed into PXM_HEAD_SHA256
//   line N     the marker
//   then       PXM_PAYLOAD_SIZE bytes of payload (tar.gz), hashed into PXM_PAYLOAD_SHA256
export const EXTRACTOR_TEMPLATE = `#!/bin/sh
# pxm self-extracting installer. Usage: sh THIS_FILE [-v] [-p PREFIX] [--no-execute] [--keep] [extract|info|check|dump [FILE]] [--] [ARGS...]
PXM_HEAD_SHA256=@HEAD_SHA256@
# Integrity: lines 1-2 and 4..PXM_HEAD_LINES hash to PXM_HEAD_SHA256; the PXM_PAYLOAD_SIZE
# bytes after the first PXM_PAYLOAD_OFFSET bytes hash to PXM_PAYLOAD_SHA256. Both are
# checked before anything from the payload is unpacked or run. Exit status 65: damaged.
PXM_HEAD_LINES=@HEAD_LINES@
PXM_PAYLOAD_OFFSET=@PAYLOAD_OFFSET@
PXM_PAYLOAD_SIZE=@PAYLOAD_SIZE@
PXM_PAYLOAD_SHA256=@PAYLOAD_SHA256@
PXM_RUNTIME=@RUNTIME@
PXM_NODE_MIN_MAJOR=@NODE_MIN_MAJOR@
PXM_NODE_MIN_MINOR=@NODE_MIN_MINOR@
pxm_self=$0
pxm_ok_head=
pxm_ok_payload=
if command -v sha256sum >/dev/null 2>&1; then pxm_sha=sha256sum
elif command -v shasum >/dev/null 2>&1; then pxm_sha='shasum -a 256'
else printf 'pxm-installer: error: sha256sum not found (coreutils or busybox): cannot verify this installer\\n' >&2; exit 69
fi
{ [ -f "$pxm_self" ] && [ -r "$pxm_self" ]; } ||
  { printf "pxm-installer: error: cannot read this installer at '%s' (run it as: sh FILE)\\n" "$pxm_self" >&2; exit 66; }
pxm_size=$(wc -c < "$pxm_self" | tr -d ' ')
pxm_want=$((PXM_PAYLOAD_OFFSET + PXM_PAYLOAD_SIZE))
[ "$pxm_size" = "$pxm_want" ] || {
  if [ "$pxm_size" -lt "$pxm_want" ] 2>/dev/null; then
    printf 'pxm-installer: error: %s is truncated (%s of %s bytes): refusing to run it; copy it again\\n' "$pxm_self" "$pxm_size" "$pxm_want"
  else
    printf 'pxm-installer: error: %s has the wrong size (%s bytes, expected %s): refusing to run it\\n' "$pxm_self" "$pxm_size" "$pxm_want"
  fi >&2
  exit 65
}
pxm_got=$({ head -n 2 "$pxm_self"; head -n "$PXM_HEAD_LINES" "$pxm_self" | tail -n +4; } | $pxm_sha | { read -r pxm_h pxm_rest; printf '%s\\n' "$pxm_h"; })
[ "$pxm_got" = "$PXM_HEAD_SHA256" ] ||
  { printf 'pxm-installer: error: %s: script checksum mismatch, the file was altered: refusing to run it\\n' "$pxm_self" >&2; exit 65; }
pxm_ok_head=$pxm_got
pxm_got=$(tail -c +"$((PXM_PAYLOAD_OFFSET + 1))" "$pxm_self" | $pxm_sha | { read -r pxm_h pxm_rest; printf '%s\\n' "$pxm_h"; })
[ "$pxm_got" = "$PXM_PAYLOAD_SHA256" ] ||
  { printf 'pxm-installer: error: %s: payload checksum mismatch, the file was altered: refusing to run it\\n' "$pxm_self" >&2; exit 65; }
pxm_ok_payload=$pxm_got

pxm_say() { printf 'pxm-installer: %s\\n' "$*" >&2; }
pxm_log() { [ -z "$pxm_verbose" ] || pxm_say "$@"; }
pxm_cleanup() {
  if [ -n "$pxm_dir" ] && [ -z "$pxm_keep" ]; then rm -rf "$pxm_dir"; fi
  pxm_dir=
}
pxm_fail() { printf 'pxm-installer: error: %s\\n' "$2" >&2; pxm_cleanup; exit "$1"; }
pxm_quote() { printf '%s' "$1" | sed "s/'/'\\\\\\\\''/g; 1s/^/'/; \\$s/\\$/'/"; }

pxm_usage() {
  cat <<'PXM_END_OF_USAGE'
usage: sh THIS_FILE [-v] [-p PREFIX] [--no-execute] [--keep] [MODE] [--] [ARGS...]
  extract (default)  verify, unpack into a private temporary directory, run the packed
                     command with ARGS appended; exit with the command's status
  info               print what is inside, when it was made, and the compressors
  check              verify the sha256 checksums of this file and its payload
  dump [FILE]        verify, then write the payload archive (tar.gz) to FILE or stdout
  -p PREFIX          unpack into PREFIX (created mode 0700 if missing) and keep it
  --no-execute       unpack only, print where, run nothing
  --keep             do not remove the unpacked directory afterwards
  -v                 say what is happening
exit status: the command's; 2 usage, 65 damaged installer, 69 missing tool or node
PXM_END_OF_USAGE
}

pxm_sha256() {
  $pxm_sha | { read -r pxm_h pxm_rest; printf '%s\\n' "$pxm_h"; }
}
pxm_payload() {
  tail -c +"$((PXM_PAYLOAD_OFFSET + 1))" "$pxm_self"
}

pxm_verified() {
  { [ "$pxm_ok_head" = "$PXM_HEAD_SHA256" ] && [ "$pxm_ok_payload" = "$PXM_PAYLOAD_SHA256" ]; } ||
    { pxm_fail 65 "$pxm_self was not verified: refusing to run it"; exit 65; }
}

pxm_find_node() {
  if [ "$PXM_RUNTIME" != none ]; then return 0; fi
  pxm_node=$(command -v node 2>/dev/null) || pxm_node=
  [ -n "$pxm_node" ] ||
    { pxm_fail 69 "node not found on PATH: this installer carries no runtime and needs Node.js >= $PXM_NODE_MIN_MAJOR.$PXM_NODE_MIN_MINOR (install it, or repack with: pxm pack --with-node)"; exit 69; }
  pxm_v=$("$pxm_node" --version 2>/dev/null) || pxm_v=
  pxm_major=\${pxm_v#v}
  pxm_major=\${pxm_major%%.*}
  pxm_minor=\${pxm_v#v*.}
  pxm_minor=\${pxm_minor%%.*}
  case "$pxm_major:$pxm_minor" in
    *[!0-9:]* | :* | *:) pxm_fail 69 "$pxm_node --version printed '$pxm_v': not a usable Node.js"; exit 69 ;;
  esac
  if [ "$pxm_major" -gt "$PXM_NODE_MIN_MAJOR" ] ||
    { [ "$pxm_major" -eq "$PXM_NODE_MIN_MAJOR" ] && [ "$pxm_minor" -ge "$PXM_NODE_MIN_MINOR" ]; }; then
    pxm_log "using $pxm_node ($pxm_v)"
    return 0
  fi
  pxm_fail 69 "$pxm_node is Node.js $pxm_v; this installer needs >= $PXM_NODE_MIN_MAJOR.$PXM_NODE_MIN_MINOR (upgrade it, or repack with: pxm pack --with-node)"
  exit 69
}

pxm_need_unpack_tools() {
  command -v gzip >/dev/null 2>&1 || { pxm_fail 69 "gzip not found: needed to unpack"; exit 69; }
  command -v tar >/dev/null 2>&1 || { pxm_fail 69 "tar not found: needed to unpack"; exit 69; }
}

pxm_unpack() {
  pxm_verified
  pxm_need_unpack_tools
  if [ -n "$pxm_prefix" ]; then
    (umask 077 && mkdir -p "$pxm_prefix") || pxm_fail 1 "cannot create $pxm_prefix"
    pxm_dir=$(cd "$pxm_prefix" && pwd) || pxm_fail 1 "cannot enter $pxm_prefix"
    pxm_keep=1
  else
    pxm_dir=$(mktemp -d "\${TMPDIR:-/tmp}/pxm-installer.XXXXXXXX") || pxm_fail 1 "mktemp -d failed"
    chmod 700 "$pxm_dir" || pxm_fail 1 "chmod 700 $pxm_dir failed"
  fi
  trap 'pxm_cleanup; exit 129' HUP
  trap 'pxm_cleanup; exit 130' INT
  trap 'pxm_cleanup; exit 143' TERM
  pxm_log "unpacking into $pxm_dir"
  pxm_payload > "$pxm_dir/.payload.tar.gz" || pxm_fail 1 "cannot write $pxm_dir/.payload.tar.gz"
  pxm_got=$(pxm_sha256 < "$pxm_dir/.payload.tar.gz")
  [ "$pxm_got" = "$PXM_PAYLOAD_SHA256" ] ||
    { pxm_fail 65 "$pxm_self changed while unpacking: refusing to run it"; exit 65; }
  gzip -dc < "$pxm_dir/.payload.tar.gz" > "$pxm_dir/.payload.tar" || pxm_fail 1 "gzip -d failed"
  (cd "$pxm_dir" && tar -xf .payload.tar) || pxm_fail 1 "tar -x failed in $pxm_dir"
  rm -f "$pxm_dir/.payload.tar.gz" "$pxm_dir/.payload.tar"
  mkdir -p "$pxm_dir/bin"
  case $PXM_RUNTIME in
    xz)
      if command -v xz >/dev/null 2>&1; then pxm_unxz='xz -dc'
      elif command -v unxz >/dev/null 2>&1; then pxm_unxz='unxz -c'
      else pxm_fail 69 "the embedded Node runtime is xz-compressed and neither xz nor unxz is here (install xz-utils, or repack with --node-compression gzip)"
      fi
      $pxm_unxz < "$pxm_dir/runtime/node.xz" > "$pxm_dir/bin/node" || pxm_fail 1 "cannot decompress the runtime"
      rm -f "$pxm_dir/runtime/node.xz"
      ;;
    gzip)
      gzip -dc < "$pxm_dir/runtime/node.gz" > "$pxm_dir/bin/node" || pxm_fail 1 "cannot decompress the runtime"
      rm -f "$pxm_dir/runtime/node.gz"
      ;;
  esac
  if [ "$PXM_RUNTIME" = none ] && [ -z "$pxm_node" ]; then
    pxm_node=$(command -v node 2>/dev/null) || pxm_node=
  fi
  if [ "$PXM_RUNTIME" != none ]; then
    chmod 755 "$pxm_dir/bin/node"
    rmdir "$pxm_dir/runtime" 2>/dev/null
    pxm_node=$pxm_dir/bin/node
  fi
  { printf '#!/bin/sh\\n'
    printf 'exec %s %s "$@"\\n' "$(pxm_quote "\${pxm_node:-node}")" "$(pxm_quote "$pxm_dir/pxm.cjs")"
  } > "$pxm_dir/bin/pxm" && chmod 755 "$pxm_dir/bin/pxm" || pxm_fail 1 "cannot write $pxm_dir/bin/pxm"
}

pxm_info() {
  pxm_verified
  pxm_need_unpack_tools
  pxm_payload | gzip -dc | tar -xOf - .pxm/info || { pxm_fail 1 "cannot read .pxm/info from the payload"; exit 1; }
  printf 'payload:     %s bytes, sha256 %s (verified)\\n' "$PXM_PAYLOAD_SIZE" "$PXM_PAYLOAD_SHA256"
}

pxm_main() {
  pxm_verbose= pxm_prefix= pxm_noexec= pxm_keep= pxm_mode= pxm_dir= pxm_dumpfile= pxm_node=
  while [ $# -gt 0 ]; do
    case $1 in
      -v | --verbose) pxm_verbose=1 ;;
      -p | --prefix)
        [ $# -ge 2 ] || pxm_fail 2 "$1 needs a directory"
        pxm_prefix=$2
        shift
        ;;
      --prefix=*) pxm_prefix=\${1#--prefix=} ;;
      --no-execute) pxm_noexec=1 ;;
      --keep) pxm_keep=1 ;;
      -h | --help) pxm_usage; return 0 ;;
      extract | info | check | dump)
        [ -z "$pxm_mode" ] || break
        pxm_mode=$1
        if [ "$1" = dump ] && [ $# -ge 2 ]; then
          case $2 in -*) ;; *) pxm_dumpfile=$2; shift ;; esac
        fi
        ;;
      --) shift; break ;;
      *) break ;;
    esac
    shift
  done
  pxm_verified
  pxm_log "verified: $pxm_size bytes, script sha256 $pxm_ok_head, payload sha256 $pxm_ok_payload"
  case \${pxm_mode:-extract} in
    check)
      printf 'OK: %s: script and payload sha256 verified (payload %s bytes, sha256 %s)\\n' \\
        "$pxm_self" "$PXM_PAYLOAD_SIZE" "$PXM_PAYLOAD_SHA256"
      return 0
      ;;
    info) pxm_info; return 0 ;;
    dump)
      if [ -n "$pxm_dumpfile" ]; then
        pxm_payload > "$pxm_dumpfile" || pxm_fail 1 "cannot write $pxm_dumpfile"
        pxm_say "payload (tar.gz, $PXM_PAYLOAD_SIZE bytes) written to $pxm_dumpfile"
      else
        pxm_payload
      fi
      return 0
      ;;
  esac
  [ -n "$pxm_noexec" ] || pxm_find_node
  pxm_unpack
  if [ -n "$pxm_noexec" ]; then
    printf 'unpacked into %s\\n' "$pxm_dir"
    pxm_keep=1
    return 0
  fi
  pxm_verified
  PXM_DIR=$pxm_dir
  PATH=$pxm_dir/bin:$PATH
  export PXM_DIR PATH
  pxm_log "running $pxm_dir/.pxm/run"
  sh "$pxm_dir/.pxm/run" "$@"
  pxm_rc=$?
  if [ -n "$pxm_keep" ]; then pxm_say "kept $pxm_dir"; fi
  pxm_cleanup
  return "$pxm_rc"
}

pxm_main "$@"; exit $?
@MARKER@
`;

export const MARKER = '__PXM_PAYLOAD_BELOW__ (binary data follows; see PXM_PAYLOAD_OFFSET)';

#!/bin/sh
# The image's entrypoint: fills secret settings from files (NAME_FILE=/path, as Docker
# and Compose secrets and mounted Kubernetes secrets provide them), then replaces
# itself with the Switchyard CLI, so node is tini's direct child and gets its signals.
# A variable that is set and not empty wins over its _FILE.
set -eu

for name in SWITCHYARD_ADMIN_KEY SWITCHYARD_SECRET_KEY DATABASE_URL REDIS_URL SWITCHYARD_VECTOR_DATABASE_URL QDRANT_API_KEY HF_TOKEN; do
  eval "file=\${${name}_FILE:-}"
  eval "value=\${${name}:-}"
  if [ -n "$file" ] && [ -z "$value" ]; then
    if [ ! -r "$file" ]; then
      echo "switchyard: ${name}_FILE names $file, which cannot be read" >&2
      exit 2
    fi
    # The file's content without its trailing newline.
    export "$name=$(cat "$file")"
  fi
  unset "${name}_FILE"
done

# The app is two levels up (/app/deploy/docker/entrypoint.sh), whatever the working directory.
app="$(cd "$(dirname "$0")/../.." && pwd)"
exec node "$app/bin/switchyard.js" "$@"

#!/bin/sh
# The image's build steps, run by the Dockerfile and rehearsed by `make image-check`:
#   scripts/image-build.sh deps SRC PREFIX   virtualenv PREFIX/opt/venv with the runtime pins
#   scripts/image-build.sh app  SRC PREFIX   the code in PREFIX/app, static files collected
# SRC is a checkout (or the build context); PREFIX is / in the image, a scratch folder in the
# rehearsal. Static files are collected with DEBUG off, so with the storage production serves
# them from (hashed names and the staticfiles.json manifest it looks them up in).
set -eu

step=${1:?usage: image-build.sh deps|app SRC PREFIX}
src=${2:?usage: image-build.sh deps|app SRC PREFIX}
prefix=${3:-/}
venv="${prefix%/}/opt/venv"
app="${prefix%/}/app"
python=${PYTHON:-python3}

deps() {
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --disable-pip-version-check -q -r "$src/requirements.txt" \
    dumb-init==1.2.5.post1
}

# Keys that exist only for this one command: settings refuse production without them,
# and nothing collectstatic does signs or encrypts anything.
throwaway_key() {
  "$venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))'
}

app() {
  mkdir -p "$app"
  for part in manage.py pyproject.toml config tenants mcpbridge templates static; do
    cp -R "$src/$part" "$app/"
  done
  find "$app" -name __pycache__ -prune -exec rm -rf {} +
  (
    cd "$app"
    env -i PATH="$venv/bin:/usr/bin:/bin" LANG=C.UTF-8 HOME="$app" \
      DEBUG=0 SECRET_KEY="$(throwaway_key)" FIELD_ENCRYPTION_KEYS="$(throwaway_key)" \
      STATIC_ROOT="$app/staticfiles" \
      "$venv/bin/python" manage.py collectstatic --noinput -v 0
    test -s "$app/staticfiles/staticfiles.json"
    "$venv/bin/python" -m compileall -q "$app"
  )
}

case $step in
  deps) deps ;;
  app) app ;;
  *) echo "unknown step: $step (deps or app)" >&2; exit 2 ;;
esac
